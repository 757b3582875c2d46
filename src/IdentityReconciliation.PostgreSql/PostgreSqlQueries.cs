using Npgsql;
using NpgsqlTypes;

namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// The SQL text of the store's hot statements for one schema (built once per store), and the mapping of their rows.
/// </summary>
/// <remarks>
/// <para>
/// The hot statements take positional parameters (<c>$1</c>, <c>$2</c>, …) bound in order, so Npgsql sends them as they
/// are, without rewriting named parameters, and prepares them on the server after their second use (the store's data
/// source sets <c>Max Auto Prepare</c>). Rows are read with <see cref="NpgsqlDataReader"/> directly.
/// </para>
/// <para>
/// Plans. A prepared statement gets a generic plan after five executions, and keeps it until the table's statistics
/// change. A generic plan made while the table is tiny (a new database: the first minutes of a shop) scans the table
/// instead of its indexes, and under constant load nothing replaces it until an <c>ANALYZE</c>. So every batch of hot
/// statements starts with <see cref="PlanGuard"/>, which turns sequential scans off for the rest of that transaction only
/// (<c>set_config(…, true)</c>: a multi-statement batch outside a transaction runs in one implicit transaction, so the
/// setting never outlives the batch or leaks to a caller's pooled connection). A plan made under it, custom or generic,
/// reads the indexes at every table size; the cost is one tiny statement in a round trip the store makes anyway.
/// PostgreSqlPlanCacheTests grows a table from empty under load and checks pg_stat_user_tables.
/// </para>
/// </remarks>
internal sealed class PostgreSqlQueries
{
    /// <summary>Turns sequential scans off until the end of the current (possibly implicit) transaction: see the remarks.</summary>
    public const string PlanGuard = "SELECT set_config('enable_seqscan', 'off', true)";

    /// <summary>
    /// <see cref="PlanGuard"/> for a reconcile transaction, which also keeps its statements on their generic plans until
    /// the transaction ends. PostgreSQL plans a prepared statement again on every execution while its custom plans look
    /// cheaper than its generic one, and a statement with an array parameter always looks so: a custom plan of
    /// <see cref="Update"/> knows the array holds 2 ids, the generic plan guesses 10. So every merge planned its re-link
    /// again (planning was 12% of the server's time in a profile of merges with one caller). Under
    /// <see cref="PlanGuard"/> the generic plans read the indexes, so they are as good as the custom ones for these
    /// statements, whose values are one request's. PostgreSqlPlanCacheTests checks pg_prepared_statements after writes.
    /// </summary>
    public const string WritePlanGuard = PlanGuard + ", set_config('plan_cache_mode', 'force_generic_plan', true)";

    /// <summary>The columns <see cref="ReadContactsAsync"/> reads, in its order.</summary>
    private const string ContactColumns = """
        "id", "phoneNumber", "email", "linkedId", "linkPrecedence" = 'primary', "createdAt", "updatedAt", "deletedAt"
        """;

    public PostgreSqlQueries(string schema)
    {
        var table = $"{Quote(schema)}.\"Contact\"";
        var change = $"{Quote(schema)}.\"ContactChange\"";
        ContactTable = table;

        // The roots (primary ids) of the contacts with an email or a phone number; a root may appear twice.
        string RootsOf(string email, string phoneNumber) => $"""
            SELECT coalesce("linkedId", "id") AS "rootId" FROM {table} WHERE "email" = {email} AND "deletedAt" IS NULL
            UNION ALL
            SELECT coalesce("linkedId", "id") FROM {table} WHERE "phoneNumber" = {phoneNumber} AND "deletedAt" IS NULL
            """;
        var roots = RootsOf("$1", "$2");

        // Every lookup is indexed: email and phoneNumber find the roots (an array computed once per branch), then one index
        // scan of the primary key finds the roots themselves and one of linkedId their secondaries. Measured with pgbench
        // (prepared, 1 client, 100k contacts): 67-72 microseconds per lookup against 75-85 for one bitmap scan of
        // ("id" = ANY(roots) OR "linkedId" = ANY(roots)) over a UNION of the roots, and about 150 for joins of the roots with
        // two UNIONed scans. In a consistent graph no row is in both branches (a root has no link); should one be (a
        // secondary linked to), ReadContactsAsync skips the second copy, as the rows arrive ordered by id.
        TouchedClusters = $"""
            SELECT {ContactColumns} FROM {table}
            WHERE "id" = ANY(ARRAY({roots})) AND "deletedAt" IS NULL
            UNION ALL
            SELECT {ContactColumns} FROM {table}
            WHERE "linkedId" = ANY(ARRAY({roots})) AND "deletedAt" IS NULL
            ORDER BY 1
            """;

        // Several lookups in one statement (lookup batching): the touched clusters of each (email, phone) pair of the arrays
        // $1 and $2, tagged with the pair's position (1-based), ordered by position then id. The same index scans per pair
        // as TouchedClusters; what one statement saves is the per-statement work around them (protocol messages, executor
        // start-up, a round trip and the wake-ups on both sides): pgbench, 100k contacts, 4 clients on this benchmark's
        // 2 cores: about 86,000 lookups/s in statements of 8 against 22,500/s one per statement.
        var pairRoots = RootsOf("k.\"email\"", "k.\"phoneNumber\"");
        TouchedClustersMany = $"""
            SELECT k."ord", c.* FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k("email", "phoneNumber", "ord")
            CROSS JOIN LATERAL (
                SELECT {ContactColumns} FROM {table}
                WHERE "id" = ANY(ARRAY({pairRoots})) AND "deletedAt" IS NULL
                UNION ALL
                SELECT {ContactColumns} FROM {table}
                WHERE "linkedId" = ANY(ARRAY({pairRoots})) AND "deletedAt" IS NULL) c
            ORDER BY 1, 2
            """;

        // Whether the touched clusters of $1 and $2 are still exactly the snapshot given as the arrays $3..$8 (ids, phone
        // numbers, emails, links, primary or not, updatedAt): the check of a write planned from the reconciler's lookup. It
        // runs after the statements that lock the identifiers and the snapshot's roots, so it reads what their last holders
        // committed. On any difference the cast fails (SQLSTATE 22P02, with SnapshotMismatchMarker in the message), the
        // server skips the rest of the batch (the writes and COMMIT), and the store loads and plans again. The cast is made
        // of the count, not of a constant, so that the planner cannot fold it (and fail) ahead of time.
        SnapshotUnchanged = $"""
            WITH "current" AS (
                SELECT "id", "phoneNumber", "email", "linkedId", "linkPrecedence" = 'primary' AS "primary", "updatedAt" FROM {table}
                WHERE "id" = ANY(ARRAY({roots})) AND "deletedAt" IS NULL
                UNION ALL
                SELECT "id", "phoneNumber", "email", "linkedId", "linkPrecedence" = 'primary', "updatedAt" FROM {table}
                WHERE "linkedId" = ANY(ARRAY({roots})) AND "deletedAt" IS NULL),
            "snapshot" AS (
                SELECT * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::boolean[], $8::timestamptz[])),
            "difference" AS (
                (SELECT * FROM "current" EXCEPT ALL SELECT * FROM "snapshot")
                UNION ALL
                (SELECT * FROM "snapshot" EXCEPT ALL SELECT * FROM "current"))
            SELECT CASE WHEN count(*) = 0 THEN 0 ELSE ('{SnapshotMismatchMarker} ' || count(*))::bigint END AS "unchanged" FROM "difference"
            """;

        // The identifier keys of $1 (bigint[], ascending), one after the other in that order.
        LockIdentifiers = """
            SELECT pg_advisory_xact_lock(k."key") FROM unnest($1::bigint[]) WITH ORDINALITY AS k("key", "ord") ORDER BY k."ord"
            """;

        // The roots of the request's clusters as they are now, ascending, each locked before the next (the subquery is
        // sorted and not flattened; the volatile lock function runs per row in that order); returns the roots it locked. A
        // root found by both the email and the phone number comes twice: advisory locks are re-entrant, so that is harmless.
        // The two 32-bit halves are PostgreSqlLockKeys.Root's: (id >> 32, the low 32 bits as a signed int).
        LockTouchedRoots = $"""
            SELECT r."rootId", pg_advisory_xact_lock((r."rootId" >> 32)::int, (((r."rootId" & 4294967295) # 2147483648) - 2147483648)::int)
            FROM ({roots} ORDER BY 1) r
            """;

        // The roots of $1 and $2 (the halves, in the caller's order: ascending ids).
        LockRoots = """
            SELECT pg_advisory_xact_lock(k."high", k."low") FROM unnest($1::int[], $2::int[]) WITH ORDINALITY AS k("high", "low", "ord") ORDER BY k."ord"
            """;

        Insert = $"""
            INSERT INTO {table} ("phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt")
            VALUES ($1, $2, $3, $4, $5, $5)
            RETURNING "id" AS "insertedId"
            """;

        // The insert and its change-feed entry in one statement: the entry takes the new row's id, and the feed's lock
        // ($6, $7) is taken before the feed's sequence numbers the entry (see PostgreSqlContactStore.ChangeFeed.cs).
        // $10 is the entry's primary, or NULL for the new row itself.
        InsertWithEntry = $"""
            WITH ins AS (
                INSERT INTO {table} ("phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt")
                VALUES ($1, $2, $3, $4, $5, $5)
                RETURNING "id"),
            feed_lock AS (SELECT pg_advisory_xact_lock($6, $7))
            INSERT INTO {change} ("occurredAt", "kind", "contactId", "primaryContactId", "relatedContactIds")
            SELECT $8, $9, ins."id", coalesce($10, ins."id"), NULL FROM feed_lock, ins
            RETURNING "contactId" AS "insertedId"
            """;

        // Re-links the contacts of $4 and checks in the same statement that each of them was updated, so that the commit
        // can follow in the same round trip: on a mismatch the cast fails (SQLSTATE 22P02, with UpdateMismatchMarker in
        // the message), the server skips the rest of the batch, COMMIT included, and the transaction rolls back. Every row
        // is under the lock of its primary, so a mismatch means the table was changed outside the locking protocol.
        Update = $"""
            WITH updated AS (
                UPDATE {table} SET "linkedId" = $1, "linkPrecedence" = $2, "updatedAt" = $3
                WHERE "id" = ANY($4) AND "deletedAt" IS NULL
                RETURNING 1)
            SELECT CASE WHEN count(*) = $5 THEN count(*) ELSE ('{UpdateMismatchMarker} ' || count(*))::bigint END AS "updated" FROM updated
            """;

        InsertLink = $"""
            INSERT INTO {Quote(schema)}."ContactLink" ("email", "phoneNumber", "createdAt") VALUES ($1, $2, $3)
            ON CONFLICT ("email", "phoneNumber") DO NOTHING
            """;
    }

    /// <summary>In the message of the error <see cref="Update"/> raises when it did not update every contact it was given.</summary>
    public const string UpdateMismatchMarker = "IdentityReconciliation: contact re-link count mismatch, updated";

    /// <summary>In the message of the error <see cref="SnapshotUnchanged"/> raises when the touched clusters differ from the snapshot.</summary>
    public const string SnapshotMismatchMarker = "IdentityReconciliation: touched clusters changed since the snapshot, differences";

    /// <summary>The quoted, schema-qualified name of the contact table.</summary>
    public string ContactTable { get; }

    /// <summary>The live contacts of the clusters touched by the email <c>$1</c> and the phone number <c>$2</c>, by id.</summary>
    public string TouchedClusters { get; }

    /// <summary>The touched clusters of each (email, phone) pair of the arrays <c>$1</c>, <c>$2</c>, tagged with the pair's 1-based position.</summary>
    public string TouchedClustersMany { get; }

    /// <summary>
    /// Fails (see <see cref="SnapshotMismatchMarker"/>) unless the touched clusters of <c>$1</c> email and <c>$2</c> phone are
    /// exactly the contacts of the arrays <c>$3</c> ids, <c>$4</c> phones, <c>$5</c> emails, <c>$6</c> links, <c>$7</c>
    /// primary, <c>$8</c> updatedAt.
    /// </summary>
    public string SnapshotUnchanged { get; }

    /// <summary>Waits for the identifier locks of <c>$1</c> (bigint[]), in its order.</summary>
    public string LockIdentifiers { get; }

    /// <summary>Waits for the locks of the roots of the clusters touched by <c>$1</c> and <c>$2</c>, ascending; returns those roots.</summary>
    public string LockTouchedRoots { get; }

    /// <summary>Waits for the root locks of the halves <c>$1</c>, <c>$2</c> (int[]), in their order.</summary>
    public string LockRoots { get; }

    /// <summary>Tries the root lock <c>($1, $2)</c> without waiting.</summary>
    public const string TryLockRoot = "SELECT pg_try_advisory_xact_lock($1, $2)";

    /// <summary>Inserts a contact (<c>$1</c> phone, <c>$2</c> email, <c>$3</c> linkedId, <c>$4</c> precedence, <c>$5</c> createdAt); returns its id.</summary>
    public string Insert { get; }

    /// <summary><see cref="Insert"/> and the change-feed entry describing it, in one statement; returns the new id.</summary>
    public string InsertWithEntry { get; }

    /// <summary>Re-links <c>$4</c> (bigint[]) to <c>$1</c> as <c>$2</c> at <c>$3</c>; fails unless <c>$5</c> rows were updated.</summary>
    public string Update { get; }

    /// <summary>Records merge evidence (<c>$1</c> email, <c>$2</c> phone, <c>$3</c> createdAt) unless it exists.</summary>
    public string InsertLink { get; }

    /// <summary>Quotes an identifier.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>Reads the contacts of the current result set (columns as in <see cref="TouchedClusters"/>).</summary>
    public static async Task<List<Contact>> ReadContactsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var contacts = new List<Contact>(4);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            AddContact(contacts, reader, 0);
        }

        return contacts;
    }

    /// <summary>Reads the result of <see cref="TouchedClustersMany"/> for <paramref name="count"/> pairs: each pair's contacts.</summary>
    public static async Task<IReadOnlyList<Contact>[]> ReadContactsManyAsync(NpgsqlDataReader reader, int count, CancellationToken cancellationToken)
    {
        var lists = new List<Contact>?[count];
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var index = checked((int)reader.GetInt64(0) - 1);
            AddContact(lists[index] ??= new List<Contact>(4), reader, 1);
        }

        var results = new IReadOnlyList<Contact>[count];
        for (var i = 0; i < count; i++)
        {
            results[i] = (IReadOnlyList<Contact>?)lists[i] ?? [];
        }

        return results;
    }

    /// <summary>Adds the contact of the reader's row (its columns from <paramref name="first"/> on) unless it is the last one again.</summary>
    private static void AddContact(List<Contact> contacts, NpgsqlDataReader reader, int first)
    {
        var id = reader.GetInt64(first);
        if (contacts.Count > 0 && contacts[^1].Id == id)
        {
            return; // the same row from both branches of the touched-clusters statement (rows come ordered by id)
        }

        contacts.Add(new Contact(
            id,
            reader.IsDBNull(first + 1) ? null : reader.GetString(first + 1),
            reader.IsDBNull(first + 2) ? null : reader.GetString(first + 2),
            reader.IsDBNull(first + 3) ? null : reader.GetInt64(first + 3),
            reader.GetBoolean(first + 4) ? LinkPrecedence.Primary : LinkPrecedence.Secondary,
            reader.GetFieldValue<DateTimeOffset>(first + 5),
            reader.GetFieldValue<DateTimeOffset>(first + 6),
            reader.IsDBNull(first + 7) ? null : reader.GetFieldValue<DateTimeOffset>(first + 7)));
    }

    /// <summary>
    /// Adds <see cref="Update"/> to <paramref name="batch"/>: the contacts <paramref name="ids"/> get the link, the precedence
    /// and <c>updatedAt</c>, and the statement fails unless it updated every one of them.
    /// </summary>
    public void AddUpdate(NpgsqlBatch batch, long? linkedId, LinkPrecedence precedence, DateTimeOffset updatedAt, long[] ids) =>
        batch.Add(Update)
            .WithNullable(NpgsqlDbType.Bigint, linkedId)
            .With(NpgsqlDbType.Text, ToText(precedence))
            .With(NpgsqlDbType.TimestampTz, updatedAt)
            .With(NpgsqlDbType.Array | NpgsqlDbType.Bigint, ids)
            .With(NpgsqlDbType.Bigint, (long)ids.Length);

    /// <summary>The text PostgreSQL stores for a precedence.</summary>
    public static string ToText(LinkPrecedence precedence) => precedence == LinkPrecedence.Primary ? "primary" : "secondary";

    /// <summary>timestamptz keeps microseconds.</summary>
    public static DateTimeOffset ToMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % 10), TimeSpan.Zero);

    /// <summary>Stamps what will be stored (microseconds), so the returned contacts equal the rows.</summary>
    public static ContactChangeSet ToStoredPrecision(ContactChangeSet changes)
    {
        if (changes.IsEmpty)
        {
            return changes;
        }

        var insert = changes.Insert is { } i ? i with { CreatedAt = ToMicroseconds(i.CreatedAt) } : null;
        ContactUpdate[] updates = changes.Updates.Count == 0 ? [] : new ContactUpdate[changes.Updates.Count];
        for (var k = 0; k < updates.Length; k++)
        {
            updates[k] = changes.Updates[k] with { UpdatedAt = ToMicroseconds(changes.Updates[k].UpdatedAt) };
        }

        return new ContactChangeSet(insert, updates, changes.Link);
    }

    /// <summary>The columns of a contact as Dapper maps them to <see cref="ContactRow"/> (erasure and change-feed reads).</summary>
    public const string Columns = """
        "id" AS "Id", "phoneNumber" AS "PhoneNumber", "email" AS "Email", "linkedId" AS "LinkedId", "linkPrecedence" AS "LinkPrecedence",
        "createdAt" AS "CreatedAt", "updatedAt" AS "UpdatedAt", "deletedAt" AS "DeletedAt"
        """;

    /// <summary>Contacts from rows read by Dapper.</summary>
    public static IReadOnlyList<Contact> ToContacts(IEnumerable<ContactRow> rows)
    {
        var contacts = new List<Contact>();
        foreach (var row in rows)
        {
            contacts.Add(new Contact(
                row.Id,
                row.PhoneNumber,
                row.Email,
                row.LinkedId,
                ParsePrecedence(row.LinkPrecedence),
                FromUtc(row.CreatedAt),
                FromUtc(row.UpdatedAt),
                row.DeletedAt is { } deletedAt ? FromUtc(deletedAt) : null));
        }

        return contacts;
    }

    /// <summary>The precedence of its stored text.</summary>
    public static LinkPrecedence ParsePrecedence(string value) => value switch
    {
        "primary" => LinkPrecedence.Primary,
        "secondary" => LinkPrecedence.Secondary,
        _ => throw new InvalidDataException($"Contact.linkPrecedence holds '{value}', expected 'primary' or 'secondary'."),
    };

    /// <summary>A UTC <see cref="DateTime"/> read by Dapper, as an offset.</summary>
    public static DateTimeOffset FromUtc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    /// <summary>A contact row as Dapper reads it (<see cref="Columns"/>).</summary>
    public sealed class ContactRow
    {
        public long Id { get; set; }

        public string? PhoneNumber { get; set; }

        public string? Email { get; set; }

        public long? LinkedId { get; set; }

        public string LinkPrecedence { get; set; } = "";

        public DateTime CreatedAt { get; set; }

        public DateTime UpdatedAt { get; set; }

        public DateTime? DeletedAt { get; set; }
    }
}

/// <summary>Building batches of statements with positional parameters.</summary>
internal static class PostgreSqlBatchExtensions
{
    /// <summary>A batch command with positional parameters.</summary>
    public static NpgsqlBatchCommand Add(this NpgsqlBatch batch, string sql)
    {
        var command = new NpgsqlBatchCommand(sql);
        batch.BatchCommands.Add(command);
        return command;
    }

    /// <summary>Adds a positional parameter.</summary>
    public static NpgsqlBatchCommand With<T>(this NpgsqlBatchCommand command, NpgsqlDbType type, T value)
    {
        command.Parameters.Add(new NpgsqlParameter<T> { NpgsqlDbType = type, TypedValue = value });
        return command;
    }

    /// <summary>Adds a positional parameter that may be NULL.</summary>
    public static NpgsqlBatchCommand WithNullable(this NpgsqlBatchCommand command, NpgsqlDbType type, object? value)
    {
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = value ?? DBNull.Value });
        return command;
    }
}
