using System.Data;
using System.Globalization;
using Dapper;
using Npgsql;
using NpgsqlTypes;

using static IdentityReconciliation.PostgreSql.PostgreSqlQueries;
using static IdentityReconciliation.PostgreSql.PostgreSqlReconcileTransaction;

namespace IdentityReconciliation.PostgreSql;

// The change feed: table "ContactChange", written in the transaction that commits each change (reconcile and erasure),
// read by GetChangesAsync, GetHistoryAsync and pruned by PruneChangesAsync; and LoadPersonAsync for explanations.
//
// Ordering. A reader that has read every entry up to sequence N must never later find a newly committed entry at or below
// N, across connections, processes and instances. An identity column alone does not give it: T1 takes 10, T2 takes 11
// and commits first, a reader sees 11 and moves past 10, then T1 commits 10. So every transaction that appends entries
// does this as its last step, once its other writes are applied and checked: it takes the transaction-level advisory lock
// of the feed (pg_advisory_xact_lock on PostgreSqlLockKeys.Feed), inserts its entries, which take their numbers from the
// column's sequence (nextval, CACHE 1 so that no session holds numbers in advance), and commits. The lock and the insert
// are one statement (the inserted rows are drawn from the lock's row, so the lock comes first), and it and COMMIT go in
// one batch, one round trip (CommitWithEntriesAsync), which replaces the round trip of a plain commit.
//
// Why it holds. PostgreSQL releases a transaction's locks only after its commit is recorded and visible (removed from the
// proc array). So the feed lock is held from the moment a transaction takes its numbers until every snapshot taken
// afterwards sees its entries: transactions take numbers in the order they commit. A transaction that commits later took
// the lock later, after the earlier one's commit became visible, and got larger numbers; a reader whose snapshot sees an
// entry therefore sees every entry with a smaller number that will ever exist. A transaction that rolls back leaves a gap
// (sequences are not transactional), never a late entry.
//
// No deadlock: the feed lock is taken after every identifier and primary lock of the protocol, and a transaction that
// holds it takes no other lock and waits on no row before it commits (its row writes are done, on rows of the clusters it
// holds). Cost: writers that append serialise on the feed lock only while the server inserts their entries and commits
// (its WAL flush included); the lock is never held across a round trip of the client, so a slow or loaded client does not
// stretch it.
//
// Retries. A reconcile or erasure that fails before its commit rolls back whole, entries included, and is re-run from the
// start: the plan, and so the entries, are made again from what the new attempt loads. A statement of the last batch that
// fails (the lock's lock_timeout, the entries' insert) makes the server skip the rest of the batch, COMMIT included, and
// leaves the transaction aborted: it is rolled back like any other failure. A COMMIT that fails (a deferred constraint)
// has rolled the transaction back itself. When the connection drops during the last batch the outcome is unknown and the
// unit runs again; if the first commit had succeeded, the re-run finds the change already applied, plans nothing and
// appends nothing. So an entry is recorded once per committed change.
public sealed partial class PostgreSqlContactStore
{
    private const string ChangeColumns = """
        "sequence" AS "Sequence", "occurredAt" AS "OccurredAt", "kind" AS "Kind", "contactId" AS "ContactId",
        "primaryContactId" AS "PrimaryContactId", "relatedContactIds" AS "RelatedContactIds"
        """;

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxCount"/> is less than 1.</exception>
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes).</exception>
    public async Task<IReadOnlyList<ContactChange>> GetChangesAsync(long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await RunAsync(
            "change feed read",
            async (connection, ct) =>
            {
                // The feed table starts empty too. Its ORDER BY ... LIMIT already favours the primary key (without the guard
                // PostgreSqlPlanCacheTests saw no scan either); the guard keeps it so for any plan, as a relay polls this
                // statement all the time.
                var batch = new NpgsqlBatch(connection);
                await using (batch.ConfigureAwait(false))
                {
                    batch.Add(PlanGuard);
                    batch.Add(_feedSql.Changes).With(NpgsqlDbType.Bigint, afterSequence).With(NpgsqlDbType.Integer, maxCount);
                    var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        await reader.NextResultAsync(ct).ConfigureAwait(false);
                        var changes = new List<ContactChange>();
                        while (await reader.ReadAsync(ct).ConfigureAwait(false))
                        {
                            changes.Add(new ContactChange(
                                reader.GetInt64(0),
                                reader.GetFieldValue<DateTimeOffset>(1),
                                (ContactChangeKind)reader.GetInt16(2),
                                reader.GetInt64(3),
                                reader.IsDBNull(4) ? null : reader.GetInt64(4),
                                reader.IsDBNull(5) ? [] : reader.GetFieldValue<long[]>(5)));
                        }

                        return (IReadOnlyList<ContactChange>)changes;
                    }
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes).</exception>
    public async Task<IReadOnlyList<ContactChange>> GetHistoryAsync(long contactId, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);

        // One statement: the person and its entries from one snapshot.
        return await RunAsync(
            "history read",
            async (connection, ct) => ToChanges(await connection.QueryAsync<ChangeRow>(new CommandDefinition(
                _feedSql.History,
                new { Id = contactId },
                cancellationToken: ct)).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes).</exception>
    public async Task<PersonGraph?> LoadPersonAsync(long contactId, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await RunAsync(
            "person read",
            async (connection, ct) =>
            {
                // Two statements in one round trip; a read-only REPEATABLE READ transaction gives both one snapshot.
                var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    IReadOnlyList<Contact> contacts;
                    List<ContactLink> links;
                    using (var grid = await connection.QueryMultipleAsync(new CommandDefinition(
                        _feedSql.Person, new { Id = contactId }, transaction, cancellationToken: ct)).ConfigureAwait(false))
                    {
                        contacts = ToContacts(await grid.ReadAsync<ContactRow>().ConfigureAwait(false));
                        links = (await grid.ReadAsync<LinkRow>().ConfigureAwait(false))
                            .Select(static r => new ContactLink(r.Email, r.PhoneNumber, FromUtc(r.CreatedAt)))
                            .ToList();
                    }

                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                    return contacts.Count == 0 ? null : new PersonGraph(contacts, links);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keepNewest"/> is less than 1.</exception>
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes).</exception>
    public async Task<long> PruneChangesAsync(DateTimeOffset? olderThan, long? keepNewest, CancellationToken cancellationToken = default)
    {
        if (keepNewest is { } keep)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1, nameof(keepNewest));
        }

        if (olderThan is null && keepNewest is null)
        {
            return 0;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var sql = _feedSql.Prune(byAge: olderThan is not null, byCount: keepNewest is not null);
        var parameters = new DynamicParameters();
        if (olderThan is { } before)
        {
            parameters.Add("OlderThan", before.ToUniversalTime(), DbType.DateTimeOffset);
        }

        if (keepNewest is { } count)
        {
            parameters.Add("Keep", count, DbType.Int64);
        }

        return await RunAsync(
            "change feed pruning",
            (connection, ct) => connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: ct)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Commits a transaction whose writes are applied and checked. With entries, the change feed's lock, the insert of the
    /// entries and the COMMIT go in one batch, one round trip (see the ordering note at the top of this file): the lock is
    /// held only while the server runs those statements and commits, never across a round trip of the client. Without
    /// entries (the feed is off, or the change set describes none), a plain commit.
    /// </summary>
    /// <remarks>
    /// The COMMIT runs as SQL inside a transaction begun with BeginTransactionAsync. Npgsql tracks the transaction status
    /// from the server's ReadyForQuery, so once the batch returns the NpgsqlTransaction counts as completed and its
    /// dispose sends nothing (PostgreSqlChangeFeedTests checks this). If a statement of the batch fails, the server skips
    /// the rest, COMMIT included, and the transaction is left aborted: the dispose rolls it back, as for any other failure.
    /// If the COMMIT itself fails (a deferred constraint), the server has rolled the transaction back already.
    /// </remarks>
    private async Task CommitWithEntriesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ContactChange> entries)
    {
        if (entries.Count == 0)
        {
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            AppendEntries(batch, entries);
            batch.Add("COMMIT");
            await batch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Adds the statement that takes the change feed's lock and inserts <paramref name="entries"/>, in order, to a batch that
    /// commits right after it (see the ordering note at the top of this file).
    /// </summary>
    private void AppendEntries(NpgsqlBatch batch, IReadOnlyList<ContactChange> entries)
    {
        var (high, low) = PostgreSqlLockKeys.Feed(_schema);

        // One statement takes the feed lock and inserts the entries: the rows to insert come from the lock's row, so
        // the server takes the lock before the sequence numbers them. A single entry (most requests) is bound as
        // scalars; several go through unnest, in order.
        if (entries.Count == 1)
        {
            var entry = entries[0];
            batch.Add(_feedSql.AppendOne)
                .With(NpgsqlDbType.Integer, high)
                .With(NpgsqlDbType.Integer, low)
                .With(NpgsqlDbType.TimestampTz, ToMicroseconds(entry.OccurredAt))
                .With(NpgsqlDbType.Smallint, (short)entry.Kind)
                .With(NpgsqlDbType.Bigint, entry.ContactId)
                .WithNullable(NpgsqlDbType.Bigint, entry.PrimaryContactId)
                .WithNullable(NpgsqlDbType.Array | NpgsqlDbType.Bigint, entry.RelatedContactIds.Count == 0 ? null : entry.RelatedContactIds.ToArray());
        }
        else
        {
            var occurredAt = new DateTime[entries.Count];
            var kinds = new short[entries.Count];
            var contactIds = new long[entries.Count];
            var primaryIds = new long?[entries.Count];
            var related = new string?[entries.Count];
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                occurredAt[i] = ToMicroseconds(entry.OccurredAt).UtcDateTime;
                kinds[i] = (short)entry.Kind;
                contactIds[i] = entry.ContactId;
                primaryIds[i] = entry.PrimaryContactId;
                related[i] = entry.RelatedContactIds.Count == 0
                    ? null
                    : "{" + string.Join(',', entry.RelatedContactIds.Select(static id => id.ToString(CultureInfo.InvariantCulture))) + "}";
            }

            batch.Add(_feedSql.Append)
                .With(NpgsqlDbType.Integer, high)
                .With(NpgsqlDbType.Integer, low)
                .With(NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, occurredAt)
                .With(NpgsqlDbType.Array | NpgsqlDbType.Smallint, kinds)
                .With(NpgsqlDbType.Array | NpgsqlDbType.Bigint, contactIds)
                .With(NpgsqlDbType.Array | NpgsqlDbType.Bigint, primaryIds)
                .With(NpgsqlDbType.Array | NpgsqlDbType.Text, related);
        }
    }

    /// <summary>An erasure's entries; none when the feed is off.</summary>
    private IReadOnlyList<ContactChange> ErasureEntries(ErasureScope scope, ErasureChangeSet changes)
    {
        if (!_recordChangeFeed)
        {
            return [];
        }

        // The erasure's time, as the planner was given it (stored precision); for a change set built without it, the
        // updatedAt it wrote, or now when it only deleted rows.
        var occurredAt = changes.ErasedAt is { } erasedAt ? ToMicroseconds(erasedAt) : changes.RemovedValues.Select(static r => r.UpdatedAt)
            .Concat(changes.Updates.Select(static u => u.UpdatedAt))
            .DefaultIfEmpty(ToMicroseconds(_timeProvider.GetUtcNow()))
            .Max();
        return ContactChangeFeed.Describe(scope, changes, occurredAt);
    }

    /// <summary>The history statement of <see cref="GetHistoryAsync"/> (for the tests' check that it is indexed).</summary>
    internal static string HistorySql(string schema) => new FeedSql(schema).History;

    private static IReadOnlyList<ContactChange> ToChanges(IEnumerable<ChangeRow> rows) =>
        rows.Select(static r => new ContactChange(
            r.Sequence,
            FromUtc(r.OccurredAt),
            (ContactChangeKind)r.Kind,
            r.ContactId,
            r.PrimaryContactId,
            r.RelatedContactIds ?? []))
        .ToList();

    /// <summary>The change feed's SQL for one schema, built once per store.</summary>
    private sealed class FeedSql
    {
        public FeedSql(string schema)
        {
            var contact = $"{Quote(schema)}.\"Contact\"";
            var change = $"{Quote(schema)}.\"ContactChange\"";
            var link = $"{Quote(schema)}.\"ContactLink\"";
            ChangeTable = change;

            // The entries in order: the sequence numbers them as they are inserted.
            Append = $"""
                WITH feed_lock AS (SELECT pg_advisory_xact_lock($1, $2))
                INSERT INTO {change} ("occurredAt", "kind", "contactId", "primaryContactId", "relatedContactIds")
                SELECT e."occurredAt", e."kind", e."contactId", e."primaryContactId", e."related"::bigint[]
                FROM feed_lock,
                     unnest($3::timestamptz[], $4::smallint[], $5::bigint[], $6::bigint[], $7::text[])
                     WITH ORDINALITY AS e("occurredAt", "kind", "contactId", "primaryContactId", "related", "ord")
                ORDER BY e."ord"
                """;

            AppendOne = $"""
                WITH feed_lock AS (SELECT pg_advisory_xact_lock($1, $2))
                INSERT INTO {change} ("occurredAt", "kind", "contactId", "primaryContactId", "relatedContactIds")
                SELECT $3, $4, $5, $6, $7 FROM feed_lock
                """;

            Changes = $"""
                SELECT "sequence", "occurredAt", "kind", "contactId", "primaryContactId", "relatedContactIds"
                FROM {change} WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2
                """;

            // The live contacts of the person of @Id: its root, then the root's row and the rows linked to it (indexed).
            var person = $"""
                WITH root AS (SELECT coalesce("linkedId", "id") AS "rootId" FROM {contact} WHERE "id" = @Id AND "deletedAt" IS NULL),
                person AS (
                    SELECT {Columns} FROM {contact} WHERE "id" IN (SELECT "rootId" FROM root) AND "deletedAt" IS NULL
                    UNION
                    SELECT {Columns} FROM {contact} WHERE "linkedId" IN (SELECT "rootId" FROM root) AND "deletedAt" IS NULL)
                """;

            History = $"""
                {person}
                SELECT {ChangeColumns} FROM {change} WHERE "sequence" IN (
                    SELECT "sequence" FROM {change} WHERE "contactId" IN (SELECT "Id" FROM person)
                    UNION
                    SELECT "sequence" FROM {change} WHERE "primaryContactId" IN (SELECT "Id" FROM person))
                ORDER BY "sequence"
                """;

            Person = $"""
                {person}
                SELECT * FROM person ORDER BY "Id";
                {person}
                SELECT "email" AS "Email", "phoneNumber" AS "PhoneNumber", "createdAt" AS "CreatedAt" FROM {link}
                WHERE "email" IN (SELECT "Email" FROM person) AND "phoneNumber" IN (SELECT "PhoneNumber" FROM person)
                ORDER BY "email", "phoneNumber";
                """;
        }

        /// <summary>The quoted name of the feed table.</summary>
        public string ChangeTable { get; }

        /// <summary>Takes the feed lock ($1, $2) and inserts the entries of $3 occurredAt[], $4 kinds[], $5 contactIds[], $6 primaryIds[] and $7 related (text of bigint[]), in order (positional parameters).</summary>
        public string Append { get; }

        public string AppendOne { get; }

        /// <summary>Up to <c>$2</c> entries after the sequence <c>$1</c>, in order (positional parameters).</summary>
        public string Changes { get; }

        /// <summary>The entries of the person of @Id.</summary>
        public string History { get; }

        /// <summary>The person of @Id, then its links: two statements.</summary>
        public string Person { get; }

        /// <summary>Deletes entries older than @OlderThan and/or beyond the newest @Keep, never the newest one.</summary>
        public string Prune(bool byAge, bool byCount)
        {
            var conditions = new List<string>(2);
            if (byAge)
            {
                conditions.Add("\"occurredAt\" < @OlderThan");
            }

            if (byCount)
            {
                conditions.Add($"\"sequence\" <= (SELECT \"sequence\" FROM {ChangeTable} ORDER BY \"sequence\" DESC OFFSET @Keep LIMIT 1)");
            }

            return $"""
                DELETE FROM {ChangeTable}
                WHERE "sequence" < (SELECT max("sequence") FROM {ChangeTable}) AND ({string.Join(" OR ", conditions)})
                """;
        }
    }

    private sealed class ChangeRow
    {
        public long Sequence { get; set; }

        public DateTime OccurredAt { get; set; }

        public short Kind { get; set; }

        public long ContactId { get; set; }

        public long? PrimaryContactId { get; set; }

        public long[]? RelatedContactIds { get; set; }
    }
}
