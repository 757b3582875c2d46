using System.Data;
using System.Globalization;
using System.Text;
using Dapper;
using IdentityReconciliation.PostgreSql.Diagnostics;
using Npgsql;

using static IdentityReconciliation.PostgreSql.PostgreSqlQueries;
using static IdentityReconciliation.PostgreSql.PostgreSqlReconcileTransaction;

namespace IdentityReconciliation.PostgreSql;

// Erasure takes the locks of the reconcile protocol, in the same global order: the identifier keys of every value it
// erases (ascending), then the roots of every person it loaded (ascending, until every loaded root is held; a root that
// sorts below one already held is only tried, and a busy one restarts the transaction). So it is serial-equivalent with
// every reconcile and every other erasure: whoever could insert a contact with an erased value, change an affected person
// or record a link between its values waits for it, or it waits for them and loads again.
//
// A person erasure does not know the values to lock before it has read the person: it reads them without locks, locks
// them, and after taking the roots checks that the person holds no value it has not locked (an identify that committed in
// between may have added one); if it does, it starts again with the larger set. Every restart follows a commit elsewhere.
public sealed partial class PostgreSqlContactStore
{
    /// <inheritdoc />
    /// <remarks>
    /// <para>
    /// Rows are deleted, never soft-deleted. PostgreSQL keeps the old version of every deleted or updated row (a dead tuple)
    /// in the table and its indexes until a vacuum removes it, and the write-ahead log keeps the change until its segments
    /// are recycled (longer if they are archived). Set <see cref="PostgreSqlContactStoreOptions.VacuumAfterErasure"/> to run
    /// <c>VACUUM</c> on the two tables right after each erasure that changed something; see docs/erasure.md for what it does
    /// and does not reach.
    /// </para>
    /// <para>
    /// If the connection drops while the erasure commits, the whole unit runs again; if the first commit had succeeded, the
    /// second finds nothing left and the call reports that nothing was erased.
    /// </para>
    /// </remarks>
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes); nothing was applied.</exception>
    public async Task<IReadOnlyList<Contact>> EraseAsync(
        ContactIdentifiers identifiers,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var values = new ErasureValues();
        values.Add(identifiers.Email, identifiers.PhoneNumber);
        var (remaining, changed) = await RunAsync(
            "erasure",
            (connection, ct) => EraseOnceAsync(connection, values, null, plan, ct),
            cancellationToken).ConfigureAwait(false);
        await VacuumIfEnabledAsync(changed).ConfigureAwait(false);
        return remaining;
    }

    /// <inheritdoc />
    /// <remarks>What remains of the erased values in PostgreSQL's files is described on <see cref="EraseAsync"/>.</remarks>
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes); nothing was applied.</exception>
    public async Task<IReadOnlyList<Contact>> ErasePersonAsync(
        long contactId,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var (remaining, changed) = await RunAsync(
            "erasure",
            async (connection, ct) =>
            {
                // A first read without locks, to know which values to lock; checked again under the locks.
                var values = new ErasureValues();
                values.AddAll(await LoadPersonAsync(connection, contactId, ct).ConfigureAwait(false));
                return await EraseOnceAsync(connection, values, contactId, plan, ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        await VacuumIfEnabledAsync(changed).ConfigureAwait(false);
        return remaining;
    }

    private async Task<(IReadOnlyList<Contact> Remaining, bool Changed)> EraseOnceAsync(
        NpgsqlConnection connection,
        ErasureValues values,
        long? personId,
        Func<ErasureScope, ErasureChangeSet> plan,
        CancellationToken cancellationToken)
    {
        for (var restart = 0; ; restart++)
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // 1. The identifiers of every value, ascending, then the affected persons.
                var identifierKeys = PostgreSqlLockKeys.Values(_schema, values.Emails, values.PhoneNumbers);
                var (personRoot, contacts) = await LockThenLoadScopeAsync(connection, transaction, identifierKeys, [], values, personId, cancellationToken).ConfigureAwait(false);

                // 2. Their roots, ascending, loading again until every loaded root is held.
                var held = new SortedSet<long>();
                var (complete, loaded) = await HoldEveryRootAsync(
                    connection,
                    transaction,
                    (personRoot, contacts),
                    static scope => scope.Item2,
                    held,
                    above => LockThenLoadScopeAsync(connection, transaction, [], above, values, personId, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
                (personRoot, contacts) = loaded;
                var restartNeeded = !complete;

                // 3. A person erased whole must hold no value that is not locked yet.
                if (!restartNeeded && personRoot is { } root)
                {
                    var before = values.Count;
                    values.AddAll(contacts.Where(c => c.RootId == root));
                    restartNeeded = values.Count != before;
                }

                if (restartNeeded)
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    if (restart >= MaxRestarts)
                    {
                        throw new PostgreSqlTransientFailureException(
                            $"The erasure transaction was restarted {MaxRestarts} times because the affected persons kept being changed by other transactions.",
                            null,
                            null,
                            restart + 1);
                    }

                    Log.ErasureRestarted(_logger, restart + 1);
                    continue;
                }

                // 4. What else the plan needs: soft-deleted contacts and links. Nothing of it can change now.
                var personIds = personRoot is { } r ? contacts.Where(c => c.RootId == r).Select(static c => c.Id).Append(r).Distinct().ToArray() : [];
                var deleted = await LoadDeletedAsync(connection, transaction, values, personIds, cancellationToken).ConfigureAwait(false);
                var links = await LoadLinksAsync(connection, transaction, values, contacts, cancellationToken).ConfigureAwait(false);
                var scope = personId is not null && personRoot is null
                    ? ErasureScope.Empty
                    : new ErasureScope([.. values.Emails], [.. values.PhoneNumbers], personRoot, contacts, deleted, links);

                // 5. Plan, apply, commit.
                var changes = ToStoredPrecision(plan(scope));
                if (changes.IsEmpty)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return (changes.ApplyTo(scope), false);
                }

                // The writes, then the change feed's lock, entries and COMMIT in one round trip (PostgreSqlContactStore.ChangeFeed.cs).
                await ApplyAsync(connection, transaction, changes).ConfigureAwait(false);
                await CommitWithEntriesAsync(connection, transaction, ErasureEntries(scope, changes)).ConfigureAwait(false);
                return (changes.ApplyTo(scope), true);
            }
        }
    }

    /// <summary>Waits for the given locks in order, then loads the person's root and every live contact of the affected persons, in one round trip.</summary>
    private async Task<(long? PersonRoot, IReadOnlyList<Contact> Contacts)> LockThenLoadScopeAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        IReadOnlyList<long> identifierKeys,
        IReadOnlyList<long> rootIds,
        ErasureValues values,
        long? personId,
        CancellationToken cancellationToken)
    {
        var table = Table("Contact");
        var sql = new StringBuilder();
        var parameters = new DynamicParameters(new { Emails = values.Emails.ToArray(), Phones = values.PhoneNumbers.ToArray() });
        parameters.Add("PersonId", personId ?? 0L, DbType.Int64);
        for (var i = 0; i < identifierKeys.Count; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"SELECT count(*) FROM pg_advisory_xact_lock(@K{i});\n");
            parameters.Add($"K{i}", identifierKeys[i], DbType.Int64);
        }

        for (var i = 0; i < rootIds.Count; i++)
        {
            var (high, low) = PostgreSqlLockKeys.Root(rootIds[i]);
            sql.Append(CultureInfo.InvariantCulture, $"SELECT count(*) FROM pg_advisory_xact_lock(@H{i}, @L{i});\n");
            parameters.Add($"H{i}", high, DbType.Int32);
            parameters.Add($"L{i}", low, DbType.Int32);
        }

        sql.Append(CultureInfo.InvariantCulture, $"SELECT coalesce(\"linkedId\", \"id\") FROM {table} WHERE \"id\" = @PersonId AND \"deletedAt\" IS NULL;\n");
        sql.Append(ErasureContactsSql(_schema));
        using var grid = await connection.QueryMultipleAsync(new CommandDefinition(
            sql.ToString(), parameters, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        for (var i = 0; i < identifierKeys.Count + rootIds.Count; i++)
        {
            await grid.ReadSingleAsync<long>().ConfigureAwait(false);
        }

        // Contact ids are positive: without a person, @PersonId is 0 and matches nothing.
        var personRoot = await grid.ReadSingleOrDefaultAsync<long?>().ConfigureAwait(false);
        return (personRoot, ToContacts(await grid.ReadAsync<ContactRow>().ConfigureAwait(false)));
    }

    /// <summary>The live contacts of the person <paramref name="contactId"/> belongs to, read without locks; none when it is not a live contact.</summary>
    private async Task<IReadOnlyList<Contact>> LoadPersonAsync(NpgsqlConnection connection, long contactId, CancellationToken cancellationToken)
    {
        var table = Table("Contact");
        var rows = await connection.QueryAsync<ContactRow>(new CommandDefinition(
            $"""
            WITH root AS (SELECT coalesce("linkedId", "id") AS "rootId" FROM {table} WHERE "id" = @Id AND "deletedAt" IS NULL)
            SELECT {Columns} FROM {table} WHERE ("id" IN (SELECT "rootId" FROM root) OR "linkedId" IN (SELECT "rootId" FROM root)) AND "deletedAt" IS NULL
            ORDER BY "Id"
            """,
            new { Id = contactId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return ToContacts(rows);
    }

    private async Task<IReadOnlyList<Contact>> LoadDeletedAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        ErasureValues values,
        long[] personIds,
        CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<ContactRow>(new CommandDefinition(
            ErasureDeletedSql(_schema),
            new { Emails = values.Emails.ToArray(), Phones = values.PhoneNumbers.ToArray(), Ids = personIds },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return ToContacts(rows);
    }

    private async Task<IReadOnlyList<ContactLink>> LoadLinksAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        ErasureValues values,
        IReadOnlyList<Contact> contacts,
        CancellationToken cancellationToken)
    {
        var emails = values.Emails.Concat(contacts.Select(static c => c.Email).OfType<string>()).Distinct(StringComparer.Ordinal).ToArray();
        var phones = values.PhoneNumbers.Concat(contacts.Select(static c => c.PhoneNumber).OfType<string>()).Distinct(StringComparer.Ordinal).ToArray();
        var rows = await connection.QueryAsync<LinkRow>(new CommandDefinition(
            ErasureLinksSql(_schema),
            new { Emails = emails, Phones = phones },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.Select(static r => new ContactLink(r.Email, r.PhoneNumber, FromUtc(r.CreatedAt))).ToList();
    }

    private async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ErasureChangeSet changes)
    {
        // From here on the erasure completes: cancellation no longer applies.
        var table = Table("Contact");
        if (changes.DeletedLinks.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                DELETE FROM {Table("ContactLink")}
                WHERE ("email", "phoneNumber") IN (SELECT * FROM unnest(@Emails::text[], @Phones::text[]))
                """,
                new { Emails = changes.DeletedLinks.Select(static l => l.Email).ToArray(), Phones = changes.DeletedLinks.Select(static l => l.PhoneNumber).ToArray() },
                transaction)).ConfigureAwait(false);
        }

        if (changes.DeletedContactIds.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"DELETE FROM {table} WHERE \"id\" = ANY(@Ids)",
                new { Ids = changes.DeletedContactIds.ToArray() },
                transaction)).ConfigureAwait(false);
        }

        foreach (var group in changes.RemovedValues.GroupBy(static r => (r.Email, r.PhoneNumber, r.UpdatedAt)))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE {table}
                SET "email" = CASE WHEN @Email THEN NULL ELSE "email" END,
                    "phoneNumber" = CASE WHEN @PhoneNumber THEN NULL ELSE "phoneNumber" END,
                    "updatedAt" = @UpdatedAt
                WHERE "id" = ANY(@Ids)
                """,
                new { group.Key.Email, group.Key.PhoneNumber, group.Key.UpdatedAt, Ids = group.Select(static r => r.Id).ToArray() },
                transaction)).ConfigureAwait(false);
        }

        foreach (var group in changes.Updates.GroupBy(static u => (u.LinkedId, u.LinkPrecedence, u.UpdatedAt)))
        {
            var ids = group.Select(static u => u.Id).ToArray();
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                _updateSql,
                new { group.Key.LinkedId, LinkPrecedence = ToText(group.Key.LinkPrecedence), group.Key.UpdatedAt, Ids = ids },
                transaction)).ConfigureAwait(false);
            if (changed != ids.Length)
            {
                throw new PostgreSqlContactStoreException(
                    $"Expected to update {ids.Length} contact(s) but updated {changed}: the table was changed outside the store's locking protocol.");
            }
        }
    }

    /// <summary>With <see cref="PostgreSqlContactStoreOptions.VacuumAfterErasure"/>, removes the dead row versions the erasure left. Best effort: the erasure is committed.</summary>
    private async Task VacuumIfEnabledAsync(bool changed)
    {
        if (!_vacuumAfterErasure || !changed)
        {
            return;
        }

        try
        {
            var connection = await _dataSource.OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                // VACUUM cannot run inside a transaction block: a statement of its own, outside any transaction.
                await connection.ExecuteAsync(new CommandDefinition(
                    $"VACUUM {Table("Contact")}, {Table("ContactLink")}",
                    commandTimeout: 0)).ConfigureAwait(false);
            }

            Log.VacuumedAfterErasure(_logger, _schema);
        }
        catch (NpgsqlException ex)
        {
            Log.VacuumAfterErasureFailed(_logger, ex, _schema, (ex as PostgresException)?.SqlState ?? "none");
        }
    }

    private static ErasureChangeSet ToStoredPrecision(ErasureChangeSet changes)
    {
        if (changes.RemovedValues.Count == 0 && changes.Updates.Count == 0)
        {
            return changes;
        }

        return new ErasureChangeSet(
            changes.DeletedContactIds,
            changes.RemovedValues.Select(static r => r with { UpdatedAt = ToMicroseconds(r.UpdatedAt) }).ToArray(),
            changes.Updates.Select(static u => u with { UpdatedAt = ToMicroseconds(u.UpdatedAt) }).ToArray(),
            changes.DeletedLinks,
            changes.ErasedAt is { } erasedAt ? ToMicroseconds(erasedAt) : null);
    }

    /// <summary>Every live contact of the persons that hold one of @Emails or @Phones, or of the person of @PersonId. Indexed: email, phoneNumber, the primary key, linkedId.</summary>
    internal static string ErasureContactsSql(string schema)
    {
        var table = $"{Quote(schema)}.\"Contact\"";
        return $"""
            WITH roots AS (
                SELECT coalesce("linkedId", "id") AS "rootId" FROM {table} WHERE "email" = ANY(@Emails) AND "deletedAt" IS NULL
                UNION
                SELECT coalesce("linkedId", "id") FROM {table} WHERE "phoneNumber" = ANY(@Phones) AND "deletedAt" IS NULL
                UNION
                SELECT coalesce("linkedId", "id") FROM {table} WHERE "id" = @PersonId AND "deletedAt" IS NULL
            )
            SELECT {Columns} FROM {table} WHERE "id" IN (SELECT "rootId" FROM roots) AND "deletedAt" IS NULL
            UNION
            SELECT {Columns} FROM {table} WHERE "linkedId" IN (SELECT "rootId" FROM roots) AND "deletedAt" IS NULL
            ORDER BY "Id";
            """;
    }

    /// <summary>The soft-deleted contacts that hold one of @Emails or @Phones, or whose id or linkedId is one of @Ids.</summary>
    internal static string ErasureDeletedSql(string schema) => $"""
        SELECT {Columns} FROM {Quote(schema)}."Contact"
        WHERE ("email" = ANY(@Emails) OR "phoneNumber" = ANY(@Phones) OR "id" = ANY(@Ids) OR "linkedId" = ANY(@Ids)) AND "deletedAt" IS NOT NULL
        ORDER BY "Id"
        """;

    /// <summary>The links whose email is one of @Emails or whose phone number is one of @Phones.</summary>
    internal static string ErasureLinksSql(string schema) => $"""
        SELECT "email" AS "Email", "phoneNumber" AS "PhoneNumber", "createdAt" AS "CreatedAt" FROM {Quote(schema)}."ContactLink"
        WHERE "email" = ANY(@Emails) OR "phoneNumber" = ANY(@Phones)
        ORDER BY "email", "phoneNumber"
        """;

    private string Table(string name) => $"{Quote(_schema)}.\"{name}\"";

    /// <summary>The values an erasure removes, sorted: the locks are taken in key order, the statements see them as arrays.</summary>
    private sealed class ErasureValues
    {
        public SortedSet<string> Emails { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> PhoneNumbers { get; } = new(StringComparer.Ordinal);

        public int Count => Emails.Count + PhoneNumbers.Count;

        public void Add(string? email, string? phoneNumber)
        {
            if (email is not null)
            {
                Emails.Add(email);
            }

            if (phoneNumber is not null)
            {
                PhoneNumbers.Add(phoneNumber);
            }
        }

        public void AddAll(IEnumerable<Contact> contacts)
        {
            foreach (var contact in contacts)
            {
                Add(contact.Email, contact.PhoneNumber);
            }
        }
    }

    private sealed class LinkRow
    {
        public string Email { get; set; } = "";

        public string PhoneNumber { get; set; } = "";

        public DateTime CreatedAt { get; set; }
    }
}
