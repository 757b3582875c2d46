using System.Data;
using System.Globalization;
using System.Text;
using Dapper;
using IdentityReconciliation.PostgreSql.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// An <see cref="IContactStore"/> on PostgreSQL (Npgsql and Dapper), for several application instances sharing one
/// contact graph. It applies the same <see cref="ContactPlanner"/> rules as the SQLite store and is exactly as correct
/// when many processes and connections write at once.
/// </summary>
/// <remarks>
/// <para>
/// <b>Schema.</b> Table <c>"Contact"</c> (<c>id bigint</c> identity, <c>"phoneNumber"</c>, <c>email</c>,
/// <c>"linkedId"</c>, <c>"linkPrecedence"</c> <c>'primary'</c>/<c>'secondary'</c>, <c>"createdAt"</c>,
/// <c>"updatedAt"</c>, <c>"deletedAt"</c> as <c>timestamptz</c>), indexes on <c>email</c>, <c>"phoneNumber"</c> and
/// <c>"linkedId"</c>, <c>"ContactLink"</c> (merge evidence: <c>email</c>, <c>"phoneNumber"</c>, <c>"createdAt"</c>),
/// <c>"ContactChange"</c> (the change feed, indexed on <c>"contactId"</c> and <c>"primaryContactId"</c>), and
/// <c>"ContactSchemaVersion"</c>, in <see cref="PostgreSqlContactStoreOptions.Schema"/>. Created on
/// first use under an advisory lock unless <see cref="PostgreSqlContactStoreOptions.AutoMigrate"/> is off
/// (<see cref="GetSchemaScript"/> gives the script).
/// </para>
/// <para>
/// <b>Concurrency.</b> <see cref="ReconcileAsync"/> runs one READ COMMITTED transaction that takes transaction-level
/// advisory locks in one global order: first the request's identifiers (email, phone number: hashed keys, ascending), then
/// the primaries (roots) of the touched clusters (contact ids, ascending, in a key space of their own). It loads the
/// touched clusters after taking the identifier locks, locks their roots, loads them again, and repeats until every root it
/// loaded is locked; only then does it plan and write. Every writer follows this protocol, so:
/// </para>
/// <list type="bullet">
/// <item><description>two requests that could create the same contact share an identifier lock and run one after the other
/// (64 identical new requests create one row);</description></item>
/// <item><description>a cluster changes (a row is inserted into it, re-linked, or its primary demoted) only under the lock of
/// its primary, so what the plan is made from cannot change before the commit: no two primaries for one person, no
/// chains, no lost demotion, and no merge racing an insert into the losing cluster;</description></item>
/// <item><description>no deadlock: a transaction only ever waits for a lock that comes after every lock it holds in that
/// global order (identifier keys, then root ids, each ascending). When a merge by another instance moved a touched contact
/// under a primary that sorts before a root it already holds, it takes that lock with <c>pg_try_advisory_xact_lock</c>,
/// which never waits, and if it is busy rolls back and starts again (bounded). Waits therefore never form a
/// cycle;</description></item>
/// <item><description>no livelock: a restart happens only after another transaction committed a merge, so every restart
/// means progress elsewhere, and merges in unrelated clusters proceed in parallel.</description></item>
/// </list>
/// <para>
/// <b>Failures.</b> A transient failure (dropped connection, serialization failure <c>40001</c>, deadlock <c>40P01</c>,
/// server shutting down or not accepting connections) rolls the transaction back and re-runs the whole unit, up to
/// <see cref="PostgreSqlContactStoreOptions.MaxRetryAttempts"/> times with exponential back-off, then throws
/// <see cref="PostgreSqlTransientFailureException"/>. A busy database (a lock wait beyond <c>lock_timeout</c>, a
/// statement beyond <c>statement_timeout</c> or the command timeout, no pooled connection free within the connection
/// string's <c>Timeout</c>) is not retried, since the configured wait already elapsed: it throws
/// <see cref="ContactStoreBusyException"/> at once. Re-running is safe even when the connection dropped during the commit:
/// a reconcile is idempotent, so a retry after a commit that did succeed finds the request already applied and plans
/// nothing. Any other database error throws <see cref="PostgreSqlContactStoreException"/>. A request never half-applies.
/// </para>
/// </remarks>
public sealed partial class PostgreSqlContactStore : IContactStore, IDisposable, IAsyncDisposable
{
    /// <summary>
    /// The schema version this store creates and understands, recorded in <c>"ContactSchemaVersion"</c>. Version 2 added the
    /// <c>"ContactLink"</c> table (merge evidence), version 3 the <c>"ContactChange"</c> table (the change feed); a version 1
    /// or 2 schema is upgraded in place on first use (with <see cref="PostgreSqlContactStoreOptions.AutoMigrate"/>), and its
    /// change feed starts empty.
    /// </summary>
    public const int SchemaVersion = 3;

    private const int MaxRestarts = 50;

    private const string Columns = """
        "id" AS "Id", "phoneNumber" AS "PhoneNumber", "email" AS "Email", "linkedId" AS "LinkedId", "linkPrecedence" AS "LinkPrecedence",
        "createdAt" AS "CreatedAt", "updatedAt" AS "UpdatedAt", "deletedAt" AS "DeletedAt"
        """;

    private static readonly string[] RequiredColumns = ["id", "phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt", "deletedAt"];

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;
    private readonly bool _autoMigrate;
    private readonly int _maxRetryAttempts;
    private readonly TimeSpan _retryBaseDelay;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private readonly string _touchedSql;
    private readonly string _insertSql;
    private readonly string _updateSql;
    private readonly string _insertLinkSql;
    private readonly bool _vacuumAfterErasure;
    private readonly bool _recordChangeFeed;
    private readonly FeedSql _feedSql;
    private volatile bool _initialized;

    /// <summary>Creates a store over the database named by an Npgsql connection string.</summary>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=db;Database=shop;Username=app;Password=...</c>.</param>
    /// <exception cref="OptionsValidationException">The connection string is empty or invalid.</exception>
    public PostgreSqlContactStore(string connectionString)
        : this(Options.Create(new PostgreSqlContactStoreOptions { ConnectionString = connectionString }))
    {
    }

    /// <summary>Creates a store over a data source the caller owns (the store never disposes it).</summary>
    /// <param name="dataSource">The data source.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is <see langword="null"/>.</exception>
    public PostgreSqlContactStore(NpgsqlDataSource dataSource)
        : this(Options.Create(new PostgreSqlContactStoreOptions { DataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource)) }))
    {
    }

    /// <summary>Creates a store.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">The logger, or <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock for retry delays, or <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public PostgreSqlContactStore(IOptions<PostgreSqlContactStoreOptions> options, ILogger<PostgreSqlContactStore>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var validation = PostgreSqlContactStoreOptionsValidator.ValidateAll(Options.DefaultName, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(PostgreSqlContactStoreOptions), validation.Failures);
        }

        _ownsDataSource = value.DataSource is null;
        _dataSource = value.DataSource ?? CreateDataSource(value.ConnectionString!);
        _schema = value.Schema;
        _autoMigrate = value.AutoMigrate;
        _maxRetryAttempts = value.MaxRetryAttempts;
        _retryBaseDelay = value.RetryBaseDelay;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _vacuumAfterErasure = value.VacuumAfterErasure;
        _recordChangeFeed = value.RecordChangeFeed;
        _feedSql = new FeedSql(_schema);

        var table = $"{Quote(_schema)}.\"Contact\"";

        _touchedSql = TouchedClustersSql(_schema);
        _insertSql = $"""
            INSERT INTO {table} ("phoneNumber", "email", "linkedId", "linkPrecedence", "createdAt", "updatedAt")
            VALUES (@PhoneNumber, @Email, @LinkedId, @LinkPrecedence, @CreatedAt, @CreatedAt)
            RETURNING "id" AS "insertedId"
            """;
        _updateSql = $"""
            UPDATE {table} SET "linkedId" = @LinkedId, "linkPrecedence" = @LinkPrecedence, "updatedAt" = @UpdatedAt
            WHERE "id" = ANY(@Ids) AND "deletedAt" IS NULL
            """;
        _insertLinkSql = $"""
            INSERT INTO {Quote(_schema)}."ContactLink" ("email", "phoneNumber", "createdAt") VALUES (@Email, @PhoneNumber, @CreatedAt)
            ON CONFLICT ("email", "phoneNumber") DO NOTHING
            """;
    }

    /// <summary>
    /// Builds the store's own data source. The store runs the same few statements all the time, so unless the connection
    /// string sets <c>Max Auto Prepare</c> itself, Npgsql prepares them on the server after their second use: PostgreSQL
    /// then no longer parses and plans them on every request.
    /// </summary>
    private static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 16;
            builder.AutoPrepareMinUsages = 2;
        }

        return NpgsqlDataSource.Create(builder);
    }

    /// <summary>
    /// The SQL that creates this store's schema (version <see cref="SchemaVersion"/>) in <paramref name="schema"/>, for hosts
    /// that manage the schema themselves (<see cref="PostgreSqlContactStoreOptions.AutoMigrate"/> off). It is idempotent.
    /// </summary>
    /// <param name="schema">The schema name, as in <see cref="PostgreSqlContactStoreOptions.Schema"/>.</param>
    /// <returns>The script.</returns>
    /// <exception cref="ArgumentException"><paramref name="schema"/> is not a plain identifier.</exception>
    public static string GetSchemaScript(string schema = PostgreSqlContactStoreOptions.DefaultSchema)
    {
        var validation = PostgreSqlContactStoreOptionsValidator.ValidateAll(null, new PostgreSqlContactStoreOptions { Schema = schema, ConnectionString = "Host=localhost" });
        if (validation.Failed)
        {
            throw new ArgumentException(validation.FailureMessage, nameof(schema));
        }

        return $"CREATE SCHEMA IF NOT EXISTS {Quote(schema)};\n" + TablesScript(schema);
    }

    /// <summary>
    /// Creates or migrates the schema now (or, with <see cref="PostgreSqlContactStoreOptions.AutoMigrate"/> off, checks it),
    /// instead of on first use. Safe to call from several instances at once, and more than once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the schema is ready.</returns>
    /// <exception cref="ContactStoreSchemaException">The schema is missing, older or newer than this package, and cannot be migrated.</exception>
    /// <exception cref="PostgreSqlContactStoreException">The database failed.</exception>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        if (_initialized)
        {
            return;
        }

        await _initializeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await RunAsync("schema migration", MigrateAsync, cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    /// <inheritdoc />
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes).</exception>
    public async Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);

        // One statement: one consistent snapshot, no locks.
        return await RunAsync(
            "lookup",
            (connection, ct) => LoadTouchedAsync(connection, null, identifiers, ct),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes); nothing was applied.</exception>
    public async Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        return await RunAsync(
            "reconcile",
            (connection, ct) => ReconcileOnceAsync(connection, identifiers, plan, ct),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The touched clusters of a request, in one statement. Every lookup is indexed: email and phoneNumber find the matches, the primary key and linkedId their clusters.</summary>
    internal static string TouchedClustersSql(string schema)
    {
        var table = $"{Quote(schema)}.\"Contact\"";
        return $"""
            WITH roots AS (
                SELECT coalesce("linkedId", "id") AS "rootId" FROM {table} WHERE "email" = @Email AND "deletedAt" IS NULL
                UNION
                SELECT coalesce("linkedId", "id") FROM {table} WHERE "phoneNumber" = @PhoneNumber AND "deletedAt" IS NULL
            )
            SELECT {Columns} FROM {table} WHERE "id" IN (SELECT "rootId" FROM roots) AND "deletedAt" IS NULL
            UNION
            SELECT {Columns} FROM {table} WHERE "linkedId" IN (SELECT "rootId" FROM roots) AND "deletedAt" IS NULL
            ORDER BY "Id"
            """;
    }

    /// <summary>
    /// The database was busy rather than broken: a lock wait beyond <c>lock_timeout</c> (<c>55P03</c>), a statement
    /// cancelled by <c>statement_timeout</c> (<c>57014</c>; the caller's own cancellation is ruled out before), or a
    /// client-side timeout: no pooled connection free within <c>Timeout</c>, or a command beyond <c>Command Timeout</c>.
    /// </summary>
    internal static bool IsBusy(NpgsqlException exception) => exception is PostgresException postgres
        ? postgres.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled
        : exception.InnerException is TimeoutException;

    internal static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
            or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections
            || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.IsTransient,
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string TablesScript(string schema)
    {
        var s = Quote(schema);
        return $"""
            CREATE TABLE IF NOT EXISTS {s}."Contact" (
                "id"             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                "phoneNumber"    text NULL,
                "email"          text NULL,
                "linkedId"       bigint NULL,
                "linkPrecedence" text NOT NULL CONSTRAINT "CK_Contact_linkPrecedence" CHECK ("linkPrecedence" IN ('primary', 'secondary')),
                "createdAt"      timestamptz NOT NULL,
                "updatedAt"      timestamptz NOT NULL,
                "deletedAt"      timestamptz NULL,
                CONSTRAINT "CK_Contact_primaryHasNoLink" CHECK (("linkPrecedence" = 'primary') = ("linkedId" IS NULL))
            );
            CREATE INDEX IF NOT EXISTS "IX_Contact_email" ON {s}."Contact" ("email");
            CREATE INDEX IF NOT EXISTS "IX_Contact_phoneNumber" ON {s}."Contact" ("phoneNumber");
            CREATE INDEX IF NOT EXISTS "IX_Contact_linkedId" ON {s}."Contact" ("linkedId");
            CREATE TABLE IF NOT EXISTS {s}."ContactLink" (
                "email"          text NOT NULL,
                "phoneNumber"    text NOT NULL,
                "createdAt"      timestamptz NOT NULL,
                CONSTRAINT "PK_ContactLink" PRIMARY KEY ("email", "phoneNumber")
            );
            CREATE INDEX IF NOT EXISTS "IX_ContactLink_phoneNumber" ON {s}."ContactLink" ("phoneNumber");
            CREATE TABLE IF NOT EXISTS {s}."ContactChange" (
                "sequence"          bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
                "occurredAt"        timestamptz NOT NULL,
                "kind"              smallint NOT NULL,
                "contactId"         bigint NOT NULL,
                "primaryContactId"  bigint NULL,
                "relatedContactIds" bigint[] NULL
            );
            CREATE INDEX IF NOT EXISTS "IX_ContactChange_contactId" ON {s}."ContactChange" ("contactId");
            CREATE INDEX IF NOT EXISTS "IX_ContactChange_primaryContactId" ON {s}."ContactChange" ("primaryContactId");
            CREATE TABLE IF NOT EXISTS {s}."ContactSchemaVersion" (
                "version"     integer PRIMARY KEY,
                "appliedAt"   timestamptz NOT NULL DEFAULT now(),
                "description" text NOT NULL
            );
            INSERT INTO {s}."ContactSchemaVersion" ("version", "description")
            VALUES ({SchemaVersion.ToString(CultureInfo.InvariantCulture)}, 'Contact table with indexes on email, phoneNumber and linkedId; ContactLink table of merge evidence; ContactChange table of the change feed')
            ON CONFLICT ("version") DO NOTHING;
            """;
    }

    private static DateTimeOffset ToMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % 10), TimeSpan.Zero);

    /// <summary>timestamptz keeps microseconds: stamp what will be stored, so the returned contacts equal the rows.</summary>
    private static ContactChangeSet ToStoredPrecision(ContactChangeSet changes)
    {
        if (changes.IsEmpty)
        {
            return changes;
        }

        var insert = changes.Insert is { } i ? i with { CreatedAt = ToMicroseconds(i.CreatedAt) } : null;
        var updates = changes.Updates.Select(static u => u with { UpdatedAt = ToMicroseconds(u.UpdatedAt) }).ToArray();
        return new ContactChangeSet(insert, updates, changes.Link);
    }

    private static string ToText(LinkPrecedence precedence) => precedence == LinkPrecedence.Primary ? "primary" : "secondary";

    private static LinkPrecedence ParsePrecedence(string value) => value switch
    {
        "primary" => LinkPrecedence.Primary,
        "secondary" => LinkPrecedence.Secondary,
        _ => throw new InvalidDataException($"Contact.linkPrecedence holds '{value}', expected 'primary' or 'secondary'."),
    };

    private static DateTimeOffset FromUtc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private static IReadOnlyList<Contact> ToContacts(IEnumerable<ContactRow> rows)
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

    /// <summary>The roots a transaction must hold: every root (primary id) of a touched contact, ascending.</summary>
    private static SortedSet<long> RootsOf(IReadOnlyList<Contact> touched)
    {
        var roots = new SortedSet<long>();
        foreach (var contact in touched)
        {
            roots.Add(contact.RootId);
        }

        return roots;
    }

    private async Task<IReadOnlyList<Contact>> LoadTouchedAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction? transaction,
        ContactIdentifiers identifiers,
        CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<ContactRow>(new CommandDefinition(
            _touchedSql,
            new { identifiers.Email, identifiers.PhoneNumber },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return ToContacts(rows);
    }

    /// <summary>Waits for the given locks in order, then loads the touched clusters, in one round trip.</summary>
    private async Task<IReadOnlyList<Contact>> LockThenLoadAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        IReadOnlyList<long> identifierKeys,
        IReadOnlyList<long> rootIds,
        ContactIdentifiers identifiers,
        CancellationToken cancellationToken)
    {
        var sql = new StringBuilder();
        var parameters = new DynamicParameters(new { identifiers.Email, identifiers.PhoneNumber });
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

        sql.Append(_touchedSql);
        using var grid = await connection.QueryMultipleAsync(new CommandDefinition(
            sql.ToString(), parameters, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        for (var i = 0; i < identifierKeys.Count + rootIds.Count; i++)
        {
            await grid.ReadSingleAsync<long>().ConfigureAwait(false);
        }

        return ToContacts(await grid.ReadAsync<ContactRow>().ConfigureAwait(false));
    }

    /// <summary>Takes root locks that sort before one already held, without waiting; <see langword="false"/> when one is busy.</summary>
    private static async Task<bool> TryLockRootsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<long> rootIds, CancellationToken cancellationToken)
    {
        foreach (var rootId in rootIds)
        {
            var (high, low) = PostgreSqlLockKeys.Root(rootId);
            var taken = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT pg_try_advisory_xact_lock(@High, @Low)",
                new { High = high, Low = low },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (!taken)
            {
                return false;
            }
        }

        return true;
    }

    private async Task<IReadOnlyList<Contact>> ReconcileOnceAsync(
        NpgsqlConnection connection,
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken)
    {
        var identifierKeys = PostgreSqlLockKeys.Identifiers(_schema, identifiers);
        for (var restart = 0; ; restart++)
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // 1. The identifiers, ascending: whoever could insert a contact with this email or phone waits for us.
                var touched = await LockThenLoadAsync(connection, transaction, identifierKeys, [], identifiers, cancellationToken).ConfigureAwait(false);

                // 2. The roots of the touched clusters, ascending, then load again; repeat until every loaded root is held.
                var held = new SortedSet<long>();
                var restartNeeded = false;
                while (true)
                {
                    var missing = RootsOf(touched);
                    missing.ExceptWith(held);
                    if (missing.Count == 0)
                    {
                        break;
                    }

                    // A merge elsewhere moved a touched contact under a primary that sorts before a lock we hold: waiting
                    // for it could close a cycle, so only try it, and start over if it is busy.
                    var below = held.Count == 0 ? [] : missing.GetViewBetween(long.MinValue, held.Max).ToArray();
                    if (below.Length > 0 && !await TryLockRootsAsync(connection, transaction, below, cancellationToken).ConfigureAwait(false))
                    {
                        restartNeeded = true;
                        break;
                    }

                    var above = missing.Where(id => held.Count == 0 || id > held.Max).ToArray();
                    touched = await LockThenLoadAsync(connection, transaction, [], above, identifiers, cancellationToken).ConfigureAwait(false);
                    held.UnionWith(missing);
                }

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
                    continue;
                }

                // 3. Nothing the plan depends on can change now: plan, apply, commit.
                var changes = ToStoredPrecision(plan(touched));
                if (changes.IsEmpty)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return touched;
                }

                // From here on the request completes: cancellation no longer applies. Every write goes in one round trip
                // and is checked; then the change feed's lock, its entries and the COMMIT go in a second one (see
                // PostgreSqlContactStore.ChangeFeed.cs), which replaces the commit's own round trip.
                var insertedId = await ApplyAsync(connection, transaction, changes).ConfigureAwait(false);
                IReadOnlyList<ContactChange> entries = _recordChangeFeed ? ContactChangeFeed.Describe(touched, changes, insertedId) : [];
                await CommitWithEntriesAsync(connection, transaction, entries).ConfigureAwait(false);
                return changes.ApplyTo(touched, insertedId);
            }
        }
    }

    /// <summary>
    /// Applies a reconcile's change set in one round trip: the re-links, the merge evidence and the insert, then checks
    /// what they did. The caller commits (with the change feed's entries).
    /// </summary>
    /// <returns>The identifier of the inserted contact, if any.</returns>
    private async Task<long?> ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ContactChangeSet changes)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            var updates = new List<(NpgsqlBatchCommand Command, int Expected)>();
            foreach (var group in changes.Updates.GroupBy(static u => (u.LinkedId, u.LinkPrecedence, u.UpdatedAt)))
            {
                var ids = group.Select(static u => u.Id).ToArray();
                var command = AddCommand(
                    batch,
                    _updateSql,
                    Parameter("LinkedId", NpgsqlDbType.Bigint, group.Key.LinkedId),
                    Parameter("LinkPrecedence", NpgsqlDbType.Text, ToText(group.Key.LinkPrecedence)),
                    Parameter("UpdatedAt", NpgsqlDbType.TimestampTz, group.Key.UpdatedAt),
                    Parameter("Ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint, ids));
                updates.Add((command, ids.Length));
            }

            if (changes.Link is { } link)
            {
                // Merge evidence, in the same transaction as the merge; every value of it is locked (step 1).
                AddCommand(
                    batch,
                    _insertLinkSql,
                    Parameter("Email", NpgsqlDbType.Text, link.Email),
                    Parameter("PhoneNumber", NpgsqlDbType.Text, link.PhoneNumber),
                    Parameter("CreatedAt", NpgsqlDbType.TimestampTz, link.CreatedAt));
            }

            if (changes.Insert is { } insert)
            {
                AddCommand(
                    batch,
                    _insertSql,
                    Parameter("PhoneNumber", NpgsqlDbType.Text, insert.PhoneNumber),
                    Parameter("Email", NpgsqlDbType.Text, insert.Email),
                    Parameter("LinkedId", NpgsqlDbType.Bigint, insert.LinkedId),
                    Parameter("LinkPrecedence", NpgsqlDbType.Text, ToText(insert.LinkPrecedence)),
                    Parameter("CreatedAt", NpgsqlDbType.TimestampTz, insert.CreatedAt));
            }

            long? id = null;
            var reader = await batch.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
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
            }

            foreach (var (command, expected) in updates)
            {
                if (command.RecordsAffected != expected)
                {
                    throw new PostgreSqlContactStoreException(
                        $"Expected to update {expected} contact(s) but updated {command.RecordsAffected}: the table was changed outside the store's locking protocol.");
                }
            }

            if (changes.Insert is not null && id is null)
            {
                throw new PostgreSqlContactStoreException("The contact insert returned no identifier.");
            }

            return id;
        }
    }

    private static NpgsqlBatchCommand AddCommand(NpgsqlBatch batch, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        batch.BatchCommands.Add(command);
        return command;
    }

    private static NpgsqlParameter Parameter(string name, NpgsqlDbType type, object? value) =>
        new(name, type) { Value = value ?? DBNull.Value };

    private async Task<bool> MigrateAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            // Instances starting together queue here; the DDL is transactional, so a failure leaves nothing behind.
            await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM pg_advisory_xact_lock(@Key)",
                new { Key = PostgreSqlLockKeys.Migration(_schema) },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);

            var state = await connection.QuerySingleAsync<(bool SchemaExists, bool VersionTableExists)>(new CommandDefinition(
                "SELECT to_regnamespace(@Schema) IS NOT NULL, to_regclass(@VersionTable) IS NOT NULL",
                new { Schema = Quote(_schema), VersionTable = $"{Quote(_schema)}.\"ContactSchemaVersion\"" },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            var version = state.VersionTableExists
                ? await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                    $"SELECT coalesce(max(\"version\"), 0) FROM {Quote(_schema)}.\"ContactSchemaVersion\"",
                    transaction: transaction,
                    cancellationToken: cancellationToken)).ConfigureAwait(false)
                : 0;

            if (version > SchemaVersion)
            {
                throw new ContactStoreSchemaException(
                    $"The PostgreSQL schema \"{_schema}\" has contact schema version {version}, newer than the {SchemaVersion} this version of IdentityReconciliation.PostgreSql understands. Upgrade the package.",
                    version,
                    SchemaVersion);
            }

            if (version < SchemaVersion)
            {
                if (!_autoMigrate)
                {
                    throw new ContactStoreSchemaException(
                        $"The PostgreSQL schema \"{_schema}\" has contact schema version {version}, and {SchemaVersion} is required. Apply {nameof(PostgreSqlContactStore)}.{nameof(GetSchemaScript)}(\"{_schema}\"), or set {nameof(PostgreSqlContactStoreOptions)}.{nameof(PostgreSqlContactStoreOptions.AutoMigrate)} to true.",
                        version,
                        SchemaVersion);
                }

                // CREATE SCHEMA needs the CREATE privilege on the database even when the schema exists: only when missing.
                var script = (state.SchemaExists ? "" : $"CREATE SCHEMA {Quote(_schema)};\n") + TablesScript(_schema);
                await connection.ExecuteAsync(new CommandDefinition(script, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            // An adopted table (created by another tool before this store) must still have every column the store uses.
            var columns = (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = @Schema AND table_name = 'Contact'",
                new { Schema = _schema },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
            var missing = RequiredColumns.Where(c => !columns.Contains(c)).ToArray();
            if (missing.Length > 0)
            {
                throw new ContactStoreSchemaException(
                    $"The table \"{_schema}\".\"Contact\" lacks the column(s) {string.Join(", ", missing.Select(m => $"\"{m}\""))} that the contact store needs.");
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            if (version < SchemaVersion)
            {
                Log.SchemaMigrated(_logger, _schema, version, SchemaVersion);
            }

            return true;
        }
    }

    /// <summary>Runs a unit of work on its own connection, re-running it after transient failures.</summary>
    private async Task<T> RunAsync<T>(string operation, Func<NpgsqlConnection, CancellationToken, Task<T>> unit, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    return await unit(connection, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested && IsBusy(ex))
            {
                // The configured wait already elapsed: retrying here would multiply it. The caller decides.
                throw new ContactStoreBusyException(
                    $"PostgreSQL {operation} timed out waiting for a lock or a connection ({ex.Message.TrimEnd('.')}). Nothing was applied; try again later.",
                    ContactStoreBusyException.DefaultRetryAfter,
                    ex);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested && IsTransient(ex))
            {
                var sqlState = (ex as PostgresException)?.SqlState;
                if (sqlState is null or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow)
                {
                    // The connection (and maybe the server) went away: do not hand out other idle connections to it.
                    _dataSource.Clear();
                }

                if (attempt > _maxRetryAttempts)
                {
                    throw new PostgreSqlTransientFailureException(
                        $"PostgreSQL {operation} failed transiently {attempt} time(s): {ex.Message}", ex, sqlState, attempt);
                }

                var delay = RetryDelay(attempt);
                Log.RetryingTransientFailure(_logger, ex, operation, attempt, _maxRetryAttempts + 1, sqlState ?? "none", (long)delay.TotalMilliseconds);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                var sqlState = (ex as PostgresException)?.SqlState;
                throw new PostgreSqlContactStoreException($"PostgreSQL {operation} failed: {ex.Message}", ex, sqlState);
            }
        }
    }

    private TimeSpan RetryDelay(int attempt)
    {
        var exponential = _retryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 10));
        return TimeSpan.FromMilliseconds(exponential * (0.5 + Random.Shared.NextDouble()));
    }

    private sealed class ContactRow
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
