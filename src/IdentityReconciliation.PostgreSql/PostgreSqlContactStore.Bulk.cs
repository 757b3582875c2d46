using System.Data;
using System.Runtime.CompilerServices;
using IdentityReconciliation.PostgreSql.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using static IdentityReconciliation.PostgreSql.PostgreSqlQueries;

namespace IdentityReconciliation.PostgreSql;

// ReconcileManyAsync: a chunk of requests in one transaction, with the locking protocol of PostgreSqlReconcileTransaction
// (read the comment at the top of that file) extended to the whole chunk:
// 1. one round trip: the plan guard, every identifier lock of the chunk (ascending keys), the locks of the roots those
//    identifiers touch now (ascending ids, taken by the server), and the load of every touched cluster;
// 2. as in the reconcile transaction, roots a concurrent merge brought in are locked (waiting only for those above every
//    root held; trying those below, and starting over when one is busy) and the clusters loaded again;
// 3. in memory, each request in order is planned from the loaded subgraph with the changes of the requests before it
//    applied (ChunkGraph). The subgraph is closed: every contact matching an identifier of the chunk was loaded with its
//    whole cluster, and a cluster only grows by merging with another loaded cluster or by the chunk's own inserts. A first
//    pass gives inserts provisional ids above every real one, in request order, to count them;
// 4. one statement takes that many ids from the table's identity sequence (ascending: exactly the ids the requests would
//    get one by one when nothing else writes; above every committed row), a second pass plans again with them (the plans
//    are pure, and decide the same with ids in the same order), and one batch writes the final state of each changed row,
//    the inserts, the merge evidence and the change-feed entries in request order, then COMMIT.
// Nothing the plans depend on can change before the commit: the identifiers and roots stay locked until then, and the
// chunk's own inserts are invisible to other transactions until then.
public sealed partial class PostgreSqlContactStore
{
    /// <summary>Provisional ids of the chunk's inserts start here: above every real id, and ordered like the inserts.</summary>
    private const long ProvisionalIdBase = 1L << 62;

    private BulkSql? _bulkSql;

    /// <inheritdoc />
    /// <remarks>
    /// The store applies the whole call in one transaction (retried as a whole on a transient failure) and yields the results
    /// once it committed: when the sequence throws, nothing of the call was applied. Pass chunks of a few hundred requests.
    /// </remarks>
    public IAsyncEnumerable<IReadOnlyList<Contact>> ReconcileManyAsync(
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        ArgumentNullException.ThrowIfNull(plan);
        return ReconcileManyCoreAsync(identifiers, plan, cancellationToken);
    }

    private async IAsyncEnumerable<IReadOnlyList<Contact>> ReconcileManyCoreAsync(
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (identifiers.Count == 0)
        {
            yield break;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var results = await _executor.RunAsync(
            "reconcile_many",
            (Store: this, Identifiers: identifiers, Plan: plan),
            static (connection, state, ct) => state.Store.RunChunkAsync(connection, state.Identifiers, state.Plan, takeIdsUpFront: false, ct),
            cancellationToken).ConfigureAwait(false);
        foreach (var result in results)
        {
            yield return result;
        }
    }

    /// <param name="connection">The connection.</param>
    /// <param name="identifiers">The requests, in order.</param>
    /// <param name="plan">Each request's plan.</param>
    /// <param name="takeIdsUpFront">
    /// Take one id per request in the first round trip (group commit: independent requests, where ids in request order
    /// matter less than a round trip), planning once; the ids of requests that insert nothing are left unused. Otherwise
    /// the exact number of ids is taken after a counting pass, so that a back-fill's ids are those of one-by-one requests.
    /// </param>
    /// <param name="cancellationToken">Cancels the chunk until its first write.</param>
    private async Task<IReadOnlyList<Contact>[]> RunChunkAsync(
        NpgsqlConnection connection,
        IReadOnlyList<ContactIdentifiers> identifiers,
        Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan,
        bool takeIdsUpFront,
        CancellationToken cancellationToken)
    {
        var sql = _bulkSql ??= new BulkSql(_queries.ContactTable);
        var (emails, phoneNumbers, identifierKeys) = DistinctValuesAndKeys(identifiers);
        for (var restart = 0; ; restart++)
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var (touched, held, upFrontIds) = await LockAndLoadChunkAsync(
                    connection, transaction, sql, identifierKeys, emails, phoneNumbers, takeIdsUpFront ? identifiers.Count : 0, cancellationToken).ConfigureAwait(false);
                bool complete;
                (complete, touched) = await PostgreSqlReconcileTransaction.HoldEveryRootAsync(
                    connection,
                    transaction,
                    touched,
                    static t => t,
                    held,
                    above => LockRootsThenLoadChunkAsync(connection, transaction, sql, above, emails, phoneNumbers, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
                var restartNeeded = !complete;

                if (restartNeeded)
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    if (restart >= PostgreSqlReconcileTransaction.MaxRestarts)
                    {
                        throw new PostgreSqlTransientFailureException(
                            $"The reconcile transaction was restarted {PostgreSqlReconcileTransaction.MaxRestarts} times because the touched clusters kept being merged by other transactions.",
                            null,
                            null,
                            restart + 1);
                    }

                    PostgreSqlStoreMetrics.Restart("reconcile_many");
                    continue;
                }

                if (upFrontIds is not null)
                {
                    // Nothing the plans depend on can change now: plan every request in order, in memory, with the ids taken.
                    var once = PlanChunk(new ChunkGraph(touched, upFrontIds), identifiers, plan);
                    if (once.Graph.Inserted.Count == 0 && once.Graph.Changed.Count == 0 && once.Links.Count == 0)
                    {
                        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await WriteChunkAndCommitAsync(connection, transaction, sql, once).ConfigureAwait(false);
                    }

                    return once.Results;
                }

                // Nothing the plans depend on can change now: plan every request in order, in memory. The plan must see the
                // ids the inserts will get: a first pass counts the inserts, their ids are taken from the sequence, and a
                // second pass plans again with them (plans are pure; the second pass is the one applied).
                var counted = PlanChunk(new ChunkGraph(touched, ids: null), identifiers, plan);
                if (counted.Graph.Inserted.Count == 0 && counted.Graph.Changed.Count == 0 && counted.Links.Count == 0)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return counted.Results;
                }

                // From here on the chunk completes: cancellation no longer applies.
                var ids = await TakeIdsAsync(connection, transaction, sql, counted.Graph.Inserted.Count).ConfigureAwait(false);
                var planned = PlanChunk(new ChunkGraph(touched, ids), identifiers, plan);
                if (planned.Graph.Inserted.Count != ids.Length)
                {
                    throw new InvalidOperationException("The plan inserted a different number of contacts when it was run again over the same contacts; plans must be pure.");
                }

                await WriteChunkAndCommitAsync(connection, transaction, sql, planned).ConfigureAwait(false);
                return planned.Results;
            }
        }
    }

    /// <summary>The chunk's distinct emails and phone numbers, and their lock keys in ascending order (the protocol's order).</summary>
    private (string[] Emails, string[] PhoneNumbers, long[] Keys) DistinctValuesAndKeys(IReadOnlyList<ContactIdentifiers> identifiers)
    {
        var emails = new HashSet<string>(identifiers.Count, StringComparer.Ordinal);
        var phoneNumbers = new HashSet<string>(identifiers.Count, StringComparer.Ordinal);
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (identifiers[i].Email is { } email)
            {
                emails.Add(email);
            }

            if (identifiers[i].PhoneNumber is { } phoneNumber)
            {
                phoneNumbers.Add(phoneNumber);
            }
        }

        return ([.. emails], [.. phoneNumbers], PostgreSqlLockKeys.Values(_schema, emails, phoneNumbers));
    }

    /// <summary>Plans every request of the chunk in order over <paramref name="graph"/>, applying each plan before the next.</summary>
    private PlannedChunk PlanChunk(ChunkGraph graph, IReadOnlyList<ContactIdentifiers> identifiers, Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan)
    {
        var results = new IReadOnlyList<Contact>[identifiers.Count];
        var entries = new List<ContactChange>();
        var links = new List<ContactLink>();
        for (var i = 0; i < identifiers.Count; i++)
        {
            var before = graph.Touched(identifiers[i]);
            var changes = PostgreSqlQueries.ToStoredPrecision(plan(i, before));
            var insertedId = graph.Apply(changes);
            results[i] = changes.IsEmpty ? before : changes.ApplyTo(before, insertedId);
            if (changes.Link is { } link)
            {
                links.Add(link);
            }

            if (_recordChangeFeed && !changes.IsEmpty)
            {
                entries.AddRange(ContactChangeFeed.Describe(before, changes, insertedId));
            }
        }

        return new PlannedChunk(graph, results, entries, links);
    }

    /// <summary>
    /// Step 1: the plan guard, the identifier locks, the current roots' locks and the load, in one round trip; and
    /// <paramref name="takeIds"/> ids from the sequence when it is positive (else <c>Ids</c> is null).
    /// </summary>
    private static async Task<(IReadOnlyList<Contact> Touched, SortedSet<long> Held, long[]? Ids)> LockAndLoadChunkAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        BulkSql sql,
        long[] identifierKeys,
        string[] emails,
        string[] phoneNumbers,
        int takeIds,
        CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            batch.Add(PlanGuard);
            batch.Add(sql.LockIdentifiers).With(NpgsqlDbType.Array | NpgsqlDbType.Bigint, identifierKeys);
            batch.Add(sql.LockTouchedRoots).With(NpgsqlDbType.Array | NpgsqlDbType.Text, emails).With(NpgsqlDbType.Array | NpgsqlDbType.Text, phoneNumbers);
            batch.Add(sql.TouchedClusters).With(NpgsqlDbType.Array | NpgsqlDbType.Text, emails).With(NpgsqlDbType.Array | NpgsqlDbType.Text, phoneNumbers);
            if (takeIds > 0)
            {
                batch.Add(sql.TakeIds).With(NpgsqlDbType.Integer, takeIds);
            }

            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                var held = new SortedSet<long>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    held.Add(reader.GetInt64(0));
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                var touched = await ReadContactsAsync(reader, cancellationToken).ConfigureAwait(false);
                if (takeIds == 0)
                {
                    return (touched, held, null);
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                var ids = await ReadIdsAsync(reader, takeIds, cancellationToken).ConfigureAwait(false);
                return (touched, held, ids);
            }
        }
    }

    /// <summary>Step 2: waits for the given root locks in order, then loads the touched clusters again, in one round trip.</summary>
    private static async Task<IReadOnlyList<Contact>> LockRootsThenLoadChunkAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        BulkSql sql,
        IReadOnlyList<long> rootIds,
        string[] emails,
        string[] phoneNumbers,
        CancellationToken cancellationToken)
    {
        var (highs, lows) = PostgreSqlLockKeys.Roots(rootIds);

        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            batch.Add(sql.LockRoots).With(NpgsqlDbType.Array | NpgsqlDbType.Integer, highs).With(NpgsqlDbType.Array | NpgsqlDbType.Integer, lows);
            batch.Add(sql.TouchedClusters).With(NpgsqlDbType.Array | NpgsqlDbType.Text, emails).With(NpgsqlDbType.Array | NpgsqlDbType.Text, phoneNumbers);
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                return await ReadContactsAsync(reader, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Takes <paramref name="count"/> ids from the table's identity sequence, ascending.</summary>
    private static async Task<long[]> TakeIdsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, BulkSql sql, int count)
    {
        if (count == 0)
        {
            return [];
        }

        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            batch.Add(sql.TakeIds).With(NpgsqlDbType.Integer, count);
            var reader = await batch.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                return await ReadIdsAsync(reader, count, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads the ids of the take-ids statement, ascending.</summary>
    private static async Task<long[]> ReadIdsAsync(NpgsqlDataReader reader, int count, CancellationToken cancellationToken)
    {
        var ids = new long[count];
        var read = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids[read++] = reader.GetInt64(0);
        }

        Array.Sort(ids);
        return ids;
    }

    /// <summary>Step 4: the final state of every changed row, the inserts, the merge evidence and the feed entries, then COMMIT.</summary>
    private async Task WriteChunkAndCommitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, BulkSql sql, PlannedChunk chunk)
    {
        var graph = chunk.Graph;
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            foreach (var group in graph.Changed.Select(graph.Final).GroupBy(static c => (c.LinkedId, c.LinkPrecedence, c.UpdatedAt)))
            {
                _queries.AddUpdate(batch, group.Key.LinkedId, group.Key.LinkPrecedence, group.Key.UpdatedAt, [.. group.Select(static c => c.Id).Order()]);
            }

            if (graph.Inserted.Count > 0)
            {
                var inserted = graph.Inserted.Select(graph.Final).ToArray();
                batch.Add(sql.InsertMany)
                    .With(NpgsqlDbType.Array | NpgsqlDbType.Bigint, inserted.Select(static c => c.Id).ToArray())
                    .With(NpgsqlDbType.Array | NpgsqlDbType.Text, inserted.Select(static c => c.PhoneNumber).ToArray())
                    .With(NpgsqlDbType.Array | NpgsqlDbType.Text, inserted.Select(static c => c.Email).ToArray())
                    .With(NpgsqlDbType.Array | NpgsqlDbType.Bigint, inserted.Select(static c => c.LinkedId).ToArray())
                    .With(NpgsqlDbType.Array | NpgsqlDbType.Text, inserted.Select(static c => ToText(c.LinkPrecedence)).ToArray())
                    .With(NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, inserted.Select(static c => c.CreatedAt.UtcDateTime).ToArray())
                    .With(NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, inserted.Select(static c => c.UpdatedAt.UtcDateTime).ToArray());
            }

            foreach (var link in chunk.Links)
            {
                batch.Add(_queries.InsertLink)
                    .With(NpgsqlDbType.Text, link.Email)
                    .With(NpgsqlDbType.Text, link.PhoneNumber)
                    .With(NpgsqlDbType.TimestampTz, link.CreatedAt);
            }

            if (chunk.Entries.Count > 0)
            {
                AppendEntries(batch, chunk.Entries);
            }

            batch.Add("COMMIT");
            await batch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>What a pass over the chunk planned: the graph after it, each request's result, the feed entries and the links, in order.</summary>
    private sealed record PlannedChunk(ChunkGraph Graph, IReadOnlyList<Contact>[] Results, List<ContactChange> Entries, List<ContactLink> Links);

    /// <summary>The SQL text of the chunk transaction: the queries of <see cref="PostgreSqlQueries"/> over arrays of values.</summary>
    private sealed class BulkSql
    {
        public BulkSql(string table)
        {
            const string columns = """
                "id", "phoneNumber", "email", "linkedId", "linkPrecedence" = 'primary', "createdAt", "updatedAt", "deletedAt"
                """;
            var roots = $"""
                SELECT coalesce("linkedId", "id") AS "rootId" FROM {table} WHERE "email" = ANY($1::text[]) AND "deletedAt" IS NULL
                UNION
                SELECT coalesce("linkedId", "id") FROM {table} WHERE "phoneNumber" = ANY($2::text[]) AND "deletedAt" IS NULL
                """;
            TouchedClusters = $"""
                WITH roots AS ({roots})
                SELECT {columns} FROM {table} WHERE "id" IN (SELECT "rootId" FROM roots) AND "deletedAt" IS NULL
                UNION
                SELECT {columns} FROM {table} WHERE "linkedId" IN (SELECT "rootId" FROM roots) AND "deletedAt" IS NULL
                ORDER BY 1
                """;
            LockTouchedRoots = $"""
                SELECT r."rootId", pg_advisory_xact_lock((r."rootId" >> 32)::int, (((r."rootId" & 4294967295) # 2147483648) - 2147483648)::int)
                FROM ({roots} ORDER BY 1) r
                """;
            TakeIds = $"""
                SELECT nextval(pg_get_serial_sequence('{table.Replace("'", "''", StringComparison.Ordinal)}', 'id')) FROM generate_series(1, $1)
                """;
            InsertMany = $"""
                INSERT INTO {table} ("id", "phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt")
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $7::timestamptz[])
                """;
        }

        public string LockIdentifiers => """
            SELECT pg_advisory_xact_lock(k."key") FROM unnest($1::bigint[]) WITH ORDINALITY AS k("key", "ord") ORDER BY k."ord"
            """;

        public string LockRoots => """
            SELECT pg_advisory_xact_lock(k."high", k."low") FROM unnest($1::int[], $2::int[]) WITH ORDINALITY AS k("high", "low", "ord") ORDER BY k."ord"
            """;

        public string TouchedClusters { get; }

        public string LockTouchedRoots { get; }

        public string TakeIds { get; }

        public string InsertMany { get; }
    }

    /// <summary>
    /// The loaded clusters of a chunk, changed in memory request by request: the touched clusters of a request are computed
    /// exactly as <see cref="IContactStore"/> defines them (the store's SQL), over the loaded contacts and the chunk's inserts.
    /// </summary>
    private sealed class ChunkGraph
    {
        private readonly Dictionary<long, Contact> _byId = [];
        private readonly Dictionary<string, List<long>> _byEmail = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<long>> _byPhoneNumber = new(StringComparer.Ordinal);
        private readonly Dictionary<long, HashSet<long>> _byLinkedId = [];
        private readonly HashSet<long> _changed = [];
        private readonly HashSet<long> _inserted = [];
        private readonly HashSet<long> _roots = [];
        private readonly HashSet<long> _seen = [];

        private readonly long[]? _ids;

        /// <summary>Starts from the loaded contacts; inserts get <paramref name="ids"/> in order, or provisional ids when it is null.</summary>
        public ChunkGraph(IReadOnlyList<Contact> loaded, long[]? ids)
        {
            _ids = ids;
            foreach (var contact in loaded)
            {
                Add(contact);
            }
        }

        /// <summary>Loaded rows changed by the chunk, in order of first change.</summary>
        public List<long> Changed { get; } = [];

        /// <summary>Ids of the chunk's inserts, in order.</summary>
        public List<long> Inserted { get; } = [];

        public Contact Final(long id) => _byId[id];

        public IReadOnlyList<Contact> Touched(ContactIdentifiers identifiers)
        {
            // The two sets are reused from request to request (the graph is used by one chunk, one request at a time).
            var roots = _roots;
            roots.Clear();
            AddRootsOf(roots, identifiers.Email, _byEmail);
            AddRootsOf(roots, identifiers.PhoneNumber, _byPhoneNumber);
            if (roots.Count == 0)
            {
                return [];
            }

            var result = new List<Contact>();
            var seen = _seen;
            seen.Clear();
            foreach (var root in roots)
            {
                if (_byId.TryGetValue(root, out var primary) && seen.Add(root))
                {
                    result.Add(primary);
                }

                if (_byLinkedId.TryGetValue(root, out var members))
                {
                    foreach (var id in members)
                    {
                        if (seen.Add(id))
                        {
                            result.Add(_byId[id]);
                        }
                    }
                }
            }

            result.Sort(static (a, b) => a.Id.CompareTo(b.Id));
            return result;
        }

        /// <summary>Applies a change set; returns the provisional id of its insert, if any.</summary>
        public long? Apply(ContactChangeSet changes)
        {
            foreach (var update in changes.Updates)
            {
                var contact = _byId[update.Id];
                Unlink(contact);
                contact = contact with { LinkedId = update.LinkedId, LinkPrecedence = update.LinkPrecedence, UpdatedAt = update.UpdatedAt };
                _byId[update.Id] = contact;
                Link(contact);
                if (!_inserted.Contains(update.Id) && _changed.Add(update.Id))
                {
                    Changed.Add(update.Id);
                }
            }

            if (changes.Insert is not { } insert)
            {
                return null;
            }

            var id = _ids is null ? ProvisionalIdBase + Inserted.Count : _ids[Inserted.Count];
            Inserted.Add(id);
            _inserted.Add(id);
            Add(new Contact(id, insert.PhoneNumber, insert.Email, insert.LinkedId, insert.LinkPrecedence, insert.CreatedAt, insert.CreatedAt));
            return id;
        }

        /// <summary>Adds the roots of the contacts holding <paramref name="value"/>.</summary>
        private void AddRootsOf(HashSet<long> roots, string? value, Dictionary<string, List<long>> index)
        {
            if (value is not null && index.TryGetValue(value, out var ids))
            {
                foreach (var id in ids)
                {
                    roots.Add(_byId[id].RootId);
                }
            }
        }

        private void Add(Contact contact)
        {
            _byId[contact.Id] = contact;
            if (contact.Email is { } email)
            {
                Index(_byEmail, email, contact.Id);
            }

            if (contact.PhoneNumber is { } phoneNumber)
            {
                Index(_byPhoneNumber, phoneNumber, contact.Id);
            }

            Link(contact);
        }

        private void Link(Contact contact)
        {
            if (contact.LinkedId is { } linkedId)
            {
                if (!_byLinkedId.TryGetValue(linkedId, out var members))
                {
                    _byLinkedId[linkedId] = members = [];
                }

                members.Add(contact.Id);
            }
        }

        private void Unlink(Contact contact)
        {
            if (contact.LinkedId is { } linkedId && _byLinkedId.TryGetValue(linkedId, out var members))
            {
                members.Remove(contact.Id);
            }
        }

        private static void Index(Dictionary<string, List<long>> index, string value, long id)
        {
            if (!index.TryGetValue(value, out var ids))
            {
                index[value] = ids = [];
            }

            ids.Add(id);
        }
    }
}
