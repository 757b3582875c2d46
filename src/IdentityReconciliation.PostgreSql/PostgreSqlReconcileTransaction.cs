using System.Data;
using IdentityReconciliation.PostgreSql.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using static IdentityReconciliation.PostgreSql.PostgreSqlQueries;

namespace IdentityReconciliation.PostgreSql;

// The reconcile transaction and its locking protocol.
//
// One READ COMMITTED transaction takes transaction-level advisory locks in one global order: first the request's
// identifiers (email, phone number: hashed keys, ascending), then the primaries (roots) of the touched clusters (contact
// ids, ascending, in a key space of their own). It loads the touched clusters only after taking the locks that guard them,
// and repeats until every root it loaded is locked; only then does it plan and write. Every writer (reconcile and erasure)
// follows this protocol, so:
// - two requests that could create the same contact share an identifier lock and run one after the other (64 identical
//   new requests create one row);
// - a cluster changes (a row is inserted into it, re-linked, or its primary demoted) only under the lock of its primary, so
//   what the plan is made from cannot change before the commit: no two primaries for one person, no chains, no lost
//   demotion, and no merge racing an insert into the losing cluster;
// - no deadlock: a transaction only ever waits for a lock that comes after every lock it holds in that global order. When a
//   merge by another instance moved a touched contact under a primary that sorts before a root it already holds, it takes
//   that lock with pg_try_advisory_xact_lock, which never waits, and if it is busy rolls back and starts again (bounded by
//   MaxRestarts). Waits therefore never form a cycle;
// - no livelock: a restart happens only after another transaction committed a merge, so every restart means progress
//   elsewhere, and merges in unrelated clusters proceed in parallel.
//
// Round trips. A lock must be taken by a statement that runs before the statement that loads what it guards: under READ
// COMMITTED each statement reads from a snapshot taken when it starts, so a load in the same statement as its lock could
// miss what the previous holder committed. The statements are therefore separate, but they travel together:
// 1. one batch: the plan guard (PostgreSqlQueries), the identifier locks, the locks of the roots the request touches now
//    (found and locked ascending by the server, which returns them), and the load. Usually every loaded root is held now;
// 2. only if a merge elsewhere moved a touched contact in between: the missing roots and the load again (repeat);
// 3. one batch: the re-links (each checks its own row count on the server), the merge evidence, the insert, the change
//    feed's lock and entries (see PostgreSqlContactStore.ChangeFeed.cs), and COMMIT.
// A new person therefore costs two round trips in the transaction, the same as the bare floor's lookup and insert.
//
// From a snapshot. When the reconciler's read-only lookup (FindClustersAsync) found that a request needs a write, it hands
// the store what it read. The store then plans from that snapshot and sends steps 1 to 3 as one batch: the plan guard, the
// identifier locks, the locks of the snapshot's roots (ascending, after the identifiers: the protocol's order), a statement
// that fails unless the touched clusters are still exactly the snapshot (PostgreSqlQueries.SnapshotUnchanged), then the
// writes, the change feed and COMMIT. When the check passes, the transaction holds the identifiers and every root of what
// it checked, which is what steps 1 and 2 establish before a plan; when it fails, the server skips the rest of the batch,
// the transaction rolls back, and the protocol runs as above. A write then costs one round trip after the lookup instead
// of two; a request racing another write on the same person pays one more.
internal sealed class PostgreSqlReconcileTransaction
{
    /// <summary>The position of <see cref="PostgreSqlQueries.SnapshotUnchanged"/> in a batch written from a snapshot (after the plan guard and the two lock statements).</summary>
    private const int SnapshotCheckStatement = 3;

    /// <summary>How many times a transaction restarts because its clusters kept being merged, before it gives up.</summary>
    public const int MaxRestarts = 50;

    /// <summary>The id Describe is given for a row not inserted yet; the insert statement puts the real one in its entry.</summary>
    private const long PendingInsertId = long.MaxValue;

    private readonly PostgreSqlQueries _queries;
    private readonly PostgreSqlConnectorBatches _batches;
    private readonly string _schema;
    private readonly bool _recordChangeFeed;
    private readonly (int High, int Low) _feedLock;
    private readonly Action<NpgsqlBatch, IReadOnlyList<ContactChange>> _appendEntries;
    private readonly ILogger _logger;

    public PostgreSqlReconcileTransaction(
        PostgreSqlQueries queries,
        PostgreSqlConnectorBatches batches,
        string schema,
        bool recordChangeFeed,
        Action<NpgsqlBatch, IReadOnlyList<ContactChange>> appendEntries,
        ILogger logger)
    {
        _queries = queries;
        _batches = batches;
        _schema = schema;
        _recordChangeFeed = recordChangeFeed;
        _feedLock = PostgreSqlLockKeys.Feed(schema);
        _appendEntries = appendEntries;
        _logger = logger;
    }

    /// <summary>Runs the protocol on <paramref name="connection"/>: lock, load, plan, apply and commit.</summary>
    /// <returns>The touched clusters after the change.</returns>
    /// <param name="connection">The unit's connection.</param>
    /// <param name="identifiers">The request's identifiers.</param>
    /// <param name="snapshot">The reconciler's lookup, to plan from and check in one round trip; null to load first.</param>
    /// <param name="plan">The plan.</param>
    /// <param name="cancellationToken">Cancels the waits; the writes and COMMIT, once sent, complete.</param>
    public async Task<IReadOnlyList<Contact>> RunAsync(
        NpgsqlConnection connection,
        ContactIdentifiers identifiers,
        IReadOnlyList<Contact>? snapshot,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken)
    {
        var identifierKeys = PostgreSqlLockKeys.Identifiers(_schema, identifiers);
        if (snapshot is not null)
        {
            if (await TryFromSnapshotAsync(connection, identifierKeys, identifiers, snapshot, plan, cancellationToken).ConfigureAwait(false) is { } done)
            {
                return done;
            }
        }

        for (var restart = 0; ; restart++)
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // 1. The identifiers, then the roots the request touches now, then the load: one round trip.
                var (touched, held) = await LockAndLoadAsync(connection, transaction, identifierKeys, identifiers, cancellationToken).ConfigureAwait(false);

                // 2. Roots that a concurrent merge brought in: lock them and load again, until every loaded root is held
                // (usually step 1 held them all, and nothing is allocated for this step).
                var complete = true;
                if (!EveryRootHeld(touched, held))
                {
                    (complete, touched) = await HoldEveryRootAsync(
                        connection,
                        transaction,
                        touched,
                        static t => t,
                        held,
                        above => LockRootsThenLoadAsync(connection, transaction, above, identifiers, cancellationToken),
                        cancellationToken).ConfigureAwait(false);
                }

                var restartNeeded = !complete;

                if (restartNeeded)
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    if (restart >= MaxRestarts)
                    {
                        throw new PostgreSqlTransientFailureException(
                            $"The reconcile transaction was restarted {MaxRestarts} times because the touched clusters kept being merged by other transactions.",
                            null,
                            null,
                            restart + 1);
                    }

                    Log.ReconcileRestarted(_logger, restart + 1);
                    PostgreSqlStoreMetrics.Restart("reconcile");
                    continue;
                }

                // 3. Nothing the plan depends on can change now: plan, apply, commit.
                var changes = ToStoredPrecision(plan(touched));
                if (changes.IsEmpty)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return touched;
                }

                // From here on the request completes: cancellation no longer applies.
                var insertedId = await ApplyAndCommitAsync(connection, transaction, touched, changes).ConfigureAwait(false);
                return changes.ApplyTo(touched, insertedId);
            }
        }
    }

    /// <summary>
    /// Step 2 of the protocol, shared by reconcile, erasure and bulk: until every root of the loaded contacts is held, locks
    /// the missing ones and loads again. A missing root that sorts below one already held (a merge elsewhere moved a loaded
    /// contact under it) is only tried, since waiting for it could close a cycle; when it is busy the caller must roll back
    /// and start over (<c>Complete</c> is <see langword="false"/>). Roots above every held one are waited for, ascending.
    /// </summary>
    /// <param name="connection">The transaction's connection.</param>
    /// <param name="transaction">The transaction holding the locks.</param>
    /// <param name="loaded">What the caller loaded under its locks so far.</param>
    /// <param name="contactsOf">The contacts of a load, whose roots must be held.</param>
    /// <param name="held">The roots held already; grows with every root taken.</param>
    /// <param name="lockAboveThenLoad">Waits for the given roots' locks in order, then loads again.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public static async Task<(bool Complete, T Loaded)> HoldEveryRootAsync<T>(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        T loaded,
        Func<T, IReadOnlyList<Contact>> contactsOf,
        SortedSet<long> held,
        Func<long[], Task<T>> lockAboveThenLoad,
        CancellationToken cancellationToken)
    {
        while (true)
        {
            var missing = RootsOf(contactsOf(loaded));
            missing.ExceptWith(held);
            if (missing.Count == 0)
            {
                return (true, loaded);
            }

            var below = held.Count == 0 ? [] : missing.GetViewBetween(long.MinValue, held.Max).ToArray();
            if (below.Length > 0 && !await TryLockRootsAsync(connection, transaction, below, cancellationToken).ConfigureAwait(false))
            {
                return (false, loaded);
            }

            var above = missing.Where(id => held.Count == 0 || id > held.Max).ToArray();
            loaded = await lockAboveThenLoad(above).ConfigureAwait(false);
            held.UnionWith(missing);
        }
    }

    /// <summary>Whether every root of <paramref name="contacts"/> is in <paramref name="held"/> (no allocation).</summary>
    public static bool EveryRootHeld(IReadOnlyList<Contact> contacts, SortedSet<long> held)
    {
        foreach (var contact in contacts)
        {
            if (!held.Contains(contact.RootId))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The roots a transaction must hold: every root (primary id) of a touched contact, ascending.</summary>
    public static SortedSet<long> RootsOf(IReadOnlyList<Contact> touched)
    {
        var roots = new SortedSet<long>();
        foreach (var contact in touched)
        {
            roots.Add(contact.RootId);
        }

        return roots;
    }

    /// <summary>Takes root locks that sort before one already held, without waiting; <see langword="false"/> when one is busy.</summary>
    public static async Task<bool> TryLockRootsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<long> rootIds, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            foreach (var rootId in rootIds)
            {
                var (high, low) = PostgreSqlLockKeys.Root(rootId);
                batch.Add(TryLockRoot).With(NpgsqlDbType.Integer, high).With(NpgsqlDbType.Integer, low);
            }

            var allTaken = true;
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                do
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        allTaken &= reader.GetBoolean(0);
                    }
                }
                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
            }

            return allTaken;
        }
    }

    /// <summary>Step 1: the plan guard, the identifier locks, the current roots' locks and the load, in one round trip.</summary>
    private async Task<(IReadOnlyList<Contact> Touched, SortedSet<long> Held)> LockAndLoadAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        long[] identifierKeys,
        ContactIdentifiers identifiers,
        CancellationToken cancellationToken)
    {
        var batch = _batches.Rent(PostgreSqlConnectorBatches.Shape.LockAndLoad, connection, transaction);
        PostgreSqlConnectorBatches.Set(batch, 1, 0, identifierKeys);
        PostgreSqlConnectorBatches.Set(batch, 2, 0, identifiers.Email);
        PostgreSqlConnectorBatches.Set(batch, 2, 1, identifiers.PhoneNumber);
        PostgreSqlConnectorBatches.Set(batch, 3, 0, identifiers.Email);
        PostgreSqlConnectorBatches.Set(batch, 3, 1, identifiers.PhoneNumber);
        IReadOnlyList<Contact> touched;
        var held = new SortedSet<long>();
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            // The guard's row, then the identifier locks' rows.
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                held.Add(reader.GetInt64(0));
            }

            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            touched = await ReadContactsAsync(reader, cancellationToken).ConfigureAwait(false);
        }

        _batches.Return(PostgreSqlConnectorBatches.Shape.LockAndLoad, connection, batch);
        return (touched, held);
    }

    /// <summary>Step 2: waits for the given root locks in order, then loads the touched clusters again, in one round trip.</summary>
    private async Task<IReadOnlyList<Contact>> LockRootsThenLoadAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        IReadOnlyList<long> rootIds,
        ContactIdentifiers identifiers,
        CancellationToken cancellationToken)
    {
        var (highs, lows) = PostgreSqlLockKeys.Roots(rootIds);

        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            batch.Add(_queries.LockRoots)
                .With(NpgsqlDbType.Array | NpgsqlDbType.Integer, highs)
                .With(NpgsqlDbType.Array | NpgsqlDbType.Integer, lows);
            batch.Add(_queries.TouchedClusters)
                .WithNullable(NpgsqlDbType.Text, identifiers.Email)
                .WithNullable(NpgsqlDbType.Text, identifiers.PhoneNumber);

            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                return await ReadContactsAsync(reader, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Steps 1 to 3 in one round trip, from the reconciler's snapshot (see "From a snapshot" above): the write plan guard, the
    /// identifier locks, the snapshot's root locks, the check that nothing changed, the writes with their change-feed entries,
    /// and COMMIT. The waits for the locks and the check can be cancelled; once the check has passed, the writes and COMMIT
    /// complete.
    /// </summary>
    /// <returns>The touched clusters after the change; null when the clusters had changed (the transaction is rolled back).</returns>
    private async Task<IReadOnlyList<Contact>?> TryFromSnapshotAsync(
        NpgsqlConnection connection,
        long[] identifierKeys,
        ContactIdentifiers identifiers,
        IReadOnlyList<Contact> snapshot,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken)
    {
        ContactChangeSet changes;
        try
        {
            changes = ToStoredPrecision(plan(snapshot));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null; // a stale snapshot may make the plan fail: only a plan of the clusters as loaded under the locks counts
        }

        var write = DescribeWrite(snapshot, changes);
        if (!write.CommitNow)
        {
            return null; // an insert with several change-feed entries (the planner never makes one) needs the new id first
        }

        var count = snapshot.Count;
        var ids = new long[count];
        var phoneNumbers = new string?[count];
        var emails = new string?[count];
        var links = new long?[count];
        var primaries = new bool[count];
        var updatedAts = new DateTime[count];
        var roots = new long[count];
        for (var i = 0; i < count; i++)
        {
            var contact = snapshot[i]; // not null: PostgreSqlContactStore.ReconcileAsync rejects a snapshot holding one
            (ids[i], phoneNumbers[i], emails[i], links[i]) = (contact.Id, contact.PhoneNumber, contact.Email, contact.LinkedId);
            primaries[i] = contact.LinkPrecedence == LinkPrecedence.Primary;
            updatedAts[i] = contact.UpdatedAt.UtcDateTime;
            roots[i] = contact.RootId;
        }

        Array.Sort(roots);
        var (highs, lows) = PostgreSqlLockKeys.Roots(new ArraySegment<long>(roots, 0, Distinct(roots)));

        // A new person or a new secondary (the commonest write) has a ready-made batch; a merge adds its writes to a
        // ready-made head (the guard, the locks and the check) and takes them off again afterwards.
        var shape = write.EntryWithInsert && changes.Updates.Count == 0 && changes.Link is null
            ? PostgreSqlConnectorBatches.Shape.SnapshotInsert
            : PostgreSqlConnectorBatches.Shape.SnapshotHead;
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var batch = _batches.Rent(shape, connection, transaction);
            PostgreSqlConnectorBatches.Set(batch, 1, 0, identifierKeys);
            PostgreSqlConnectorBatches.Set(batch, 2, 0, highs);
            PostgreSqlConnectorBatches.Set(batch, 2, 1, lows);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 0, identifiers.Email);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 1, identifiers.PhoneNumber);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 2, ids);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 3, phoneNumbers);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 4, emails);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 5, links);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 6, primaries);
            PostgreSqlConnectorBatches.Set(batch, SnapshotCheckStatement, 7, updatedAts);
            if (shape == PostgreSqlConnectorBatches.Shape.SnapshotInsert)
            {
                SetInsertWithEntry(batch, SnapshotCheckStatement + 1, changes.Insert!, write.Entries[0]);
            }
            else
            {
                AddWrites(batch, changes, write);
                batch.Add("COMMIT");
            }

            long? id;
            try
            {
                var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    // The plan guard, the locks and the check (statement 3): cancellable waits. Reaching the result set
                    // after the check means it passed; from there on the writes and COMMIT complete.
                    for (var result = 0; result < SnapshotCheckStatement; result++)
                    {
                        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await reader.NextResultAsync(CancellationToken.None).ConfigureAwait(false);
                    id = await ReadInsertedIdAsync(reader).ConfigureAwait(false);
                }
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidTextRepresentation
                && ex.MessageText.Contains(PostgreSqlQueries.SnapshotMismatchMarker, StringComparison.Ordinal))
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                Log.SnapshotChanged(_logger);
                PostgreSqlStoreMetrics.Restart("reconcile_snapshot");
                return null;
            }

            if (shape == PostgreSqlConnectorBatches.Shape.SnapshotHead)
            {
                PostgreSqlConnectorBatches.TrimTo(batch, SnapshotCheckStatement + 1);
            }

            _batches.Return(shape, connection, batch);

            if (changes.Insert is not null && id is null)
            {
                throw new PostgreSqlContactStoreException("The contact insert returned no identifier.");
            }

            return changes.ApplyTo(snapshot, id);
        }
    }

    /// <summary>Moves the distinct values of the sorted <paramref name="sorted"/> to its front; returns how many there are.</summary>
    private static int Distinct(long[] sorted)
    {
        var count = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            if (count == 0 || sorted[i] != sorted[count - 1])
            {
                sorted[count++] = sorted[i];
            }
        }

        return count;
    }

    /// <summary>What a change set writes besides its rows.</summary>
    /// <param name="Entries">Its change-feed entries (an insert's own id is <see cref="PendingInsertId"/> in them).</param>
    /// <param name="EntryWithInsert">Whether the insert writes the one entry itself (<see cref="PostgreSqlQueries.InsertWithEntry"/>).</param>
    /// <param name="CommitNow">Whether the writes, the entries and COMMIT fit in one round trip (the entries need no new id).</param>
    private readonly record struct WriteDescription(IReadOnlyList<ContactChange> Entries, bool EntryWithInsert, bool CommitNow);

    private WriteDescription DescribeWrite(IReadOnlyList<Contact> touched, ContactChangeSet changes)
    {
        IReadOnlyList<ContactChange> entries = !_recordChangeFeed || changes.IsEmpty ? []
            : ContactChangeFeed.Describe(touched, changes, changes.Insert is null ? null : PendingInsertId);
        var entryWithInsert = changes.Insert is not null && entries.Count == 1 && entries[0].ContactId == PendingInsertId
            && !entries[0].RelatedContactIds.Contains(PendingInsertId);
        return new WriteDescription(entries, entryWithInsert, changes.Insert is null || !_recordChangeFeed || entryWithInsert);
    }

    /// <summary>Adds the change set's statements: the re-links, the merge evidence, the insert, and the change-feed entries that fit.</summary>
    private void AddWrites(NpgsqlBatch batch, ContactChangeSet changes, WriteDescription write)
    {
        foreach (var group in changes.Updates.Count == 0 ? [] : changes.Updates.GroupBy(static u => (u.LinkedId, u.LinkPrecedence, u.UpdatedAt)))
        {
            _queries.AddUpdate(batch, group.Key.LinkedId, group.Key.LinkPrecedence, group.Key.UpdatedAt, [.. group.Select(static u => u.Id)]);
        }

        if (changes.Link is { } link)
        {
            // Merge evidence, in the same transaction as the merge; every value of it is locked (step 1).
            batch.Add(_queries.InsertLink)
                .With(NpgsqlDbType.Text, link.Email)
                .With(NpgsqlDbType.Text, link.PhoneNumber)
                .With(NpgsqlDbType.TimestampTz, link.CreatedAt);
        }

        if (changes.Insert is { } insert)
        {
            var command = batch.Add(write.EntryWithInsert ? _queries.InsertWithEntry : _queries.Insert)
                .WithNullable(NpgsqlDbType.Text, insert.PhoneNumber)
                .WithNullable(NpgsqlDbType.Text, insert.Email)
                .WithNullable(NpgsqlDbType.Bigint, insert.LinkedId)
                .With(NpgsqlDbType.Text, ToText(insert.LinkPrecedence))
                .With(NpgsqlDbType.TimestampTz, insert.CreatedAt);
            if (write.EntryWithInsert)
            {
                var entry = write.Entries[0];
                command
                    .With(NpgsqlDbType.Integer, _feedLock.High)
                    .With(NpgsqlDbType.Integer, _feedLock.Low)
                    .With(NpgsqlDbType.TimestampTz, ToMicroseconds(entry.OccurredAt))
                    .With(NpgsqlDbType.Smallint, (short)entry.Kind)
                    .WithNullable(NpgsqlDbType.Bigint, entry.PrimaryContactId == PendingInsertId ? null : entry.PrimaryContactId);
            }
        }
        else if (write.Entries.Count > 0)
        {
            _appendEntries(batch, write.Entries);
        }
    }

    /// <summary>Reads the write statements' results from the reader's current result set on; returns the inserted id, if any.</summary>
    private static async Task<long?> ReadInsertedIdAsync(NpgsqlDataReader reader)
    {
        long? id = null;
        do
        {
            var isInsert = reader.FieldCount == 1 && reader.GetName(0) == "insertedId";
            while (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (isInsert)
                {
                    id = reader.GetInt64(0);
                }
            }
        }
        while (await reader.NextResultAsync(CancellationToken.None).ConfigureAwait(false));
        return id;
    }

    /// <summary>
    /// Step 3: the change set, its change-feed entries and COMMIT in one round trip. Only an insert whose entries are not
    /// the single one <see cref="PostgreSqlQueries.InsertWithEntry"/> writes (the planner never makes one) takes two: the
    /// writes, then the entries with the new id and COMMIT.
    /// </summary>
    /// <returns>The identifier of the inserted contact, if any.</returns>
    private async Task<long?> ApplyAndCommitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<Contact> touched, ContactChangeSet changes)
    {
        var write = DescribeWrite(touched, changes);
        if (write.EntryWithInsert && changes.Updates.Count == 0 && changes.Link is null)
        {
            return await InsertWithEntryAndCommitAsync(connection, transaction, changes.Insert!, write.Entries[0]).ConfigureAwait(false);
        }

        long? id;
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            AddWrites(batch, changes, write);
            if (write.CommitNow)
            {
                batch.Add("COMMIT");
            }

            var reader = await batch.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                id = await ReadInsertedIdAsync(reader).ConfigureAwait(false);
            }
        }

        if (changes.Insert is not null && id is null)
        {
            throw new PostgreSqlContactStoreException("The contact insert returned no identifier.");
        }

        if (!write.CommitNow)
        {
            var batch2 = new NpgsqlBatch(connection, transaction);
            await using (batch2.ConfigureAwait(false))
            {
                _appendEntries(batch2, ContactChangeFeed.Describe(touched, changes, id));
                batch2.Add("COMMIT");
                await batch2.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        return id;
    }

    /// <summary>The common last round trip: a new contact, its one change-feed entry and COMMIT.</summary>
    private async Task<long?> InsertWithEntryAndCommitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, NewContact insert, ContactChange entry)
    {
        var batch = _batches.Rent(PostgreSqlConnectorBatches.Shape.InsertWithEntry, connection, transaction);
        SetInsertWithEntry(batch, 0, insert, entry);
        long? id = null;
        var reader = await batch.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            if (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                id = reader.GetInt64(0);
            }

            while (await reader.NextResultAsync(CancellationToken.None).ConfigureAwait(false))
            {
            }
        }

        _batches.Return(PostgreSqlConnectorBatches.Shape.InsertWithEntry, connection, batch);
        return id ?? throw new PostgreSqlContactStoreException("The contact insert returned no identifier.");
    }

    /// <summary>Sets the parameters of <see cref="PostgreSqlQueries.InsertWithEntry"/>, statement <paramref name="statement"/> of a ready-made batch.</summary>
    private void SetInsertWithEntry(NpgsqlBatch batch, int statement, NewContact insert, ContactChange entry)
    {
        PostgreSqlConnectorBatches.Set(batch, statement, 0, insert.PhoneNumber);
        PostgreSqlConnectorBatches.Set(batch, statement, 1, insert.Email);
        PostgreSqlConnectorBatches.Set(batch, statement, 2, insert.LinkedId);
        PostgreSqlConnectorBatches.Set(batch, statement, 3, ToText(insert.LinkPrecedence));
        PostgreSqlConnectorBatches.Set(batch, statement, 4, insert.CreatedAt);
        PostgreSqlConnectorBatches.Set(batch, statement, 5, _feedLock.High);
        PostgreSqlConnectorBatches.Set(batch, statement, 6, _feedLock.Low);
        PostgreSqlConnectorBatches.Set(batch, statement, 7, ToMicroseconds(entry.OccurredAt));
        PostgreSqlConnectorBatches.Set(batch, statement, 8, (short)entry.Kind);
        PostgreSqlConnectorBatches.Set(batch, statement, 9, entry.PrimaryContactId == PendingInsertId ? null : entry.PrimaryContactId);
    }
}
