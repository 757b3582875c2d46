using IdentityReconciliation.PostgreSql.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using static IdentityReconciliation.PostgreSql.PostgreSqlQueries;

namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// An <see cref="IContactStore"/> on PostgreSQL, for several application instances sharing one contact graph. It applies
/// the same <see cref="ContactPlanner"/> rules as the SQLite store and is exactly as correct when many processes and
/// connections write at once.
/// </summary>
/// <remarks>
/// <para>
/// <b>Schema.</b> Tables <c>"Contact"</c>, <c>"ContactLink"</c> (merge evidence), <c>"ContactChange"</c> (the change feed)
/// and <c>"ContactSchemaVersion"</c> in <see cref="PostgreSqlContactStoreOptions.Schema"/>, created or upgraded on first use
/// unless <see cref="PostgreSqlContactStoreOptions.AutoMigrate"/> is off (<see cref="GetSchemaScript"/> gives the script).
/// </para>
/// <para>
/// <b>Concurrency.</b> Each write is one READ COMMITTED transaction that takes advisory locks on the request's identifiers,
/// then on the primaries of the clusters it touches, in one global order, before it loads what it plans from: no two
/// primaries for one person, no lost merge, no deadlock (docs/postgresql.md). Writes that arrive while the store's write
/// slots are busy are committed together, several in one such transaction
/// (<see cref="PostgreSqlContactStoreOptions.GroupCommitMaxSize"/>).
/// </para>
/// <para>
/// <b>Failures.</b> A transient failure (dropped connection, serialization failure, deadlock, server restarting) re-runs the
/// whole unit, up to <see cref="PostgreSqlContactStoreOptions.MaxRetryAttempts"/> times, then throws
/// <see cref="PostgreSqlTransientFailureException"/>; a wait beyond <c>lock_timeout</c>, <c>statement_timeout</c>, the
/// command timeout or the pool's <c>Timeout</c> throws <see cref="ContactStoreBusyException"/> at once; any other database
/// error throws <see cref="PostgreSqlContactStoreException"/>. A request never half-applies, and re-running one is safe.
/// Retries, restarts and transient failures are counted by the meter <see cref="PostgreSqlContactStoreTelemetry.Name"/>.
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
    public const int SchemaVersion = PostgreSqlSchema.Version;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;
    private readonly bool _autoMigrate;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private readonly PostgreSqlQueries _queries;
    private readonly PostgreSqlRetryingExecutor _executor;
    private readonly PostgreSqlReconcileTransaction _reconcile;
    private readonly PostgreSqlConnectorBatches _batches;
    private readonly PostgreSqlGroupCommit? _groupCommit;
    private readonly PostgreSqlLookupBatcher? _lookupBatcher;
    private readonly string _updateSql;
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
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _vacuumAfterErasure = value.VacuumAfterErasure;
        _recordChangeFeed = value.RecordChangeFeed;
        _feedSql = new FeedSql(_schema);
        _queries = new PostgreSqlQueries(_schema);
        _executor = new PostgreSqlRetryingExecutor(_dataSource, value.MaxRetryAttempts, value.RetryBaseDelay, _timeProvider, _logger);
        _batches = new PostgreSqlConnectorBatches(_queries, _dataSource);
        _reconcile = new PostgreSqlReconcileTransaction(_queries, _batches, _schema, _recordChangeFeed, AppendEntries, _logger);
        if (value.GroupCommitMaxSize > 1)
        {
            _groupCommit = new PostgreSqlGroupCommit(
                value.GroupCommitMaxSize,
                Math.Max(1, value.GroupCommitSlots),
                value.GroupCommitStallDelay > TimeSpan.Zero ? value.GroupCommitStallDelay : PostgreSqlContactStoreOptions.DefaultGroupCommitStallDelay,
                (identifiers, plan, ct) => ReconcileOneAsync(identifiers, null, plan, ct),
                ReconcileGroupAsync);
        }

        if (value.LookupBatchMaxSize > 1)
        {
            _lookupBatcher = new PostgreSqlLookupBatcher(value.LookupBatchMaxSize, Math.Max(1, value.LookupBatchLanes), LookupOneAsync, LookupManyAsync);
        }

        _updateSql = $"""
            UPDATE {_queries.ContactTable} SET "linkedId" = @LinkedId, "linkPrecedence" = @LinkPrecedence, "updatedAt" = @UpdatedAt
            WHERE "id" = ANY(@Ids) AND "deletedAt" IS NULL
            """;
    }

    /// <summary>
    /// Builds the store's own data source, with two defaults the connection string may override. The store runs the same
    /// few statements all the time, so Npgsql prepares them on the server after their second use (<c>Max Auto Prepare</c>):
    /// PostgreSQL then no longer parses and plans them on every request. And a pooled connection is not reset when the
    /// store returns it (<c>No Reset On Close</c>): the store leaves no session state behind (its locks and settings are
    /// transaction-level), and the reset (<c>DISCARD ALL</c> and friends, sent before the connection's next use) cost about
    /// a third of a lookup's time in the benchmark. And at most <see cref="DefaultMaxPoolSize"/> connections
    /// (<c>Maximum Pool Size</c>; Npgsql's own default is 100): see there.
    /// </summary>
    internal static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 32;
            builder.AutoPrepareMinUsages = 2;
        }

        if (!SetsOption(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        if (!SetsOption(connectionString, "Maximum Pool Size", "MaxPoolSize"))
        {
            builder.MaxPoolSize = Math.Max(DefaultMaxPoolSize, builder.MinPoolSize);
        }

        return NpgsqlDataSource.Create(builder);
    }

    /// <summary>
    /// The store's default <c>Maximum Pool Size</c>: two connections per processor of this process's machine. The store's
    /// statements are short and CPU-bound on the server, so more connections in use at once than there are processors to
    /// run them only add context switches (measured in docs/postgresql.md, "Pool size"). Callers beyond the pool wait for
    /// a connection (up to the connection string's <c>Timeout</c>, then <see cref="ContactStoreBusyException"/>).
    /// </summary>
    internal static int DefaultMaxPoolSize => 2 * Environment.ProcessorCount;

    private static bool SetsOption(string connectionString, params string[] keywords)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(k => given.ContainsKey(k));
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

        return PostgreSqlSchema.Script(schema);
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
                await RunAsync(
                    "schema migration",
                    (connection, ct) => PostgreSqlSchema.MigrateAsync(connection, _schema, _autoMigrate, _logger, ct),
                    cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    /// <inheritdoc />
    /// <exception cref="ContactStoreSchemaException">The schema cannot be used (see <see cref="EnsureSchemaAsync"/>).</exception>
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes).</exception>
    public async Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);

        // One statement after the plan guard, in one round trip: one consistent snapshot, no locks. Under load, several
        // callers' lookups share that statement (PostgreSqlLookupBatcher).
        return _lookupBatcher is null
            ? await LookupOneAsync(identifiers, cancellationToken).ConfigureAwait(false)
            : await _lookupBatcher.FindAsync(identifiers, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One lookup in its own round trip.</summary>
    private Task<IReadOnlyList<Contact>> LookupOneAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken) =>
        _executor.RunAsync("lookup", (Batches: _batches, Identifiers: identifiers), static (connection, state, ct) => LookupAsync(connection, state.Batches, state.Identifiers, ct), cancellationToken);

    /// <summary>Several lookups in one statement and one round trip (lookup batching); each lookup sees its own consistent snapshot.</summary>
    private Task<IReadOnlyList<Contact>[]> LookupManyAsync(IReadOnlyList<ContactIdentifiers> identifiers) =>
        _executor.RunAsync("lookup_many", (Batches: _batches, Identifiers: identifiers), static (connection, state, ct) => LookupManyAsync(connection, state.Batches, state.Identifiers, ct), CancellationToken.None);

    /// <inheritdoc />
    /// <exception cref="ContactStoreSchemaException">The schema cannot be used (see <see cref="EnsureSchemaAsync"/>).</exception>
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes); nothing was applied.</exception>
    public Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return ReconcileCoreAsync(identifiers, null, plan, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A write that runs alone sends its locks, the check against <paramref name="snapshot"/>, its writes and COMMIT in one
    /// round trip (see docs/postgresql.md); when the check fails it loads and plans again under the locks. A write queued for
    /// group commit ignores the snapshot.
    /// </remarks>
    /// <exception cref="ContactStoreSchemaException">The schema cannot be used (see <see cref="EnsureSchemaAsync"/>).</exception>
    /// <exception cref="PostgreSqlContactStoreException">The database failed (see its subtypes); nothing was applied.</exception>
    public Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        IReadOnlyList<Contact> snapshot,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(plan);
        for (var i = 0; i < snapshot.Count; i++)
        {
            if (snapshot[i] is null)
            {
                throw new ArgumentException("The snapshot holds a null contact.", nameof(snapshot));
            }
        }

        return ReconcileCoreAsync(identifiers, snapshot, plan, cancellationToken);
    }

    private async Task<IReadOnlyList<Contact>> ReconcileCoreAsync(
        ContactIdentifiers identifiers,
        IReadOnlyList<Contact>? snapshot,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        if (_groupCommit is null)
        {
            return await ReconcileOneAsync(identifiers, snapshot, plan, cancellationToken).ConfigureAwait(false);
        }

        if (!_groupCommit.TryRunAlone())
        {
            return await _groupCommit.EnqueueAsync(identifiers, plan, cancellationToken).ConfigureAwait(false);
        }

        // A free write slot and nobody waiting: this write runs alone, as without group commit.
        try
        {
            return await ReconcileOneAsync(identifiers, snapshot, plan, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _groupCommit.HandOver();
        }
    }

    /// <summary>One request in its own transaction (PostgreSqlReconcileTransaction).</summary>
    private Task<IReadOnlyList<Contact>> ReconcileOneAsync(
        ContactIdentifiers identifiers,
        IReadOnlyList<Contact>? snapshot,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken) =>
        _executor.RunAsync(
            "reconcile",
            (Transaction: _reconcile, Identifiers: identifiers, Snapshot: snapshot, Plan: plan),
            static (connection, state, ct) => state.Transaction.RunAsync(connection, state.Identifiers, state.Snapshot, state.Plan, ct),
            cancellationToken);

    /// <summary>Concurrent requests in one transaction (group commit): the chunk transaction of <see cref="ReconcileManyAsync"/>.</summary>
    private Task<IReadOnlyList<Contact>[]> ReconcileGroupAsync(IReadOnlyList<ContactIdentifiers> identifiers, Func<int, IReadOnlyList<Contact>, ContactChangeSet> plan) =>
        _executor.RunAsync(
            "reconcile_group",
            (Store: this, Identifiers: identifiers, Plan: plan),
            static (connection, state, ct) => state.Store.RunChunkAsync(connection, state.Identifiers, state.Plan, takeIdsUpFront: true, ct),
            CancellationToken.None);

    /// <inheritdoc />
    public void Dispose()
    {
        _groupCommit?.Dispose();
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _groupCommit?.Dispose();
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The read-only lookup: the plan guard and the touched clusters, in one round trip; one snapshot, no locks.</summary>
    private static async Task<IReadOnlyList<Contact>> LookupAsync(NpgsqlConnection connection, PostgreSqlConnectorBatches batches, ContactIdentifiers identifiers, CancellationToken cancellationToken)
    {
        var batch = batches.Rent(PostgreSqlConnectorBatches.Shape.Lookup, connection, null);
        PostgreSqlConnectorBatches.Set(batch, 1, 0, identifiers.Email);
        PostgreSqlConnectorBatches.Set(batch, 1, 1, identifiers.PhoneNumber);
        List<Contact> contacts;
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            contacts = await ReadContactsAsync(reader, cancellationToken).ConfigureAwait(false);
        }

        batches.Return(PostgreSqlConnectorBatches.Shape.Lookup, connection, batch);
        return contacts;
    }

    /// <summary>The lookups of several requests in one statement (after the plan guard), in one round trip.</summary>
    private static async Task<IReadOnlyList<Contact>[]> LookupManyAsync(NpgsqlConnection connection, PostgreSqlConnectorBatches batches, IReadOnlyList<ContactIdentifiers> identifiers, CancellationToken cancellationToken)
    {
        var emails = new string?[identifiers.Count];
        var phoneNumbers = new string?[identifiers.Count];
        for (var i = 0; i < emails.Length; i++)
        {
            emails[i] = identifiers[i].Email;
            phoneNumbers[i] = identifiers[i].PhoneNumber;
        }

        var batch = batches.Rent(PostgreSqlConnectorBatches.Shape.LookupMany, connection, null);
        PostgreSqlConnectorBatches.Set(batch, 1, 0, emails);
        PostgreSqlConnectorBatches.Set(batch, 1, 1, phoneNumbers);
        IReadOnlyList<Contact>[] contacts;
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            contacts = await ReadContactsManyAsync(reader, emails.Length, cancellationToken).ConfigureAwait(false);
        }

        batches.Return(PostgreSqlConnectorBatches.Shape.LookupMany, connection, batch);
        return contacts;
    }

    /// <summary>The touched-clusters statement (for the tests' check that it is indexed; parameters <c>$1</c> email, <c>$2</c> phone).</summary>
    internal static string TouchedClustersSql(string schema) => new PostgreSqlQueries(schema).TouchedClusters;

    /// <summary>The statement of several lookups (for the tests' check that it is indexed; parameters <c>$1</c> emails, <c>$2</c> phones).</summary>
    internal static string TouchedClustersManySql(string schema) => new PostgreSqlQueries(schema).TouchedClustersMany;

    /// <summary>Runs a unit of work on its own connection, re-running it after transient failures.</summary>
    private Task<T> RunAsync<T>(string operation, Func<NpgsqlConnection, CancellationToken, Task<T>> unit, CancellationToken cancellationToken) =>
        _executor.RunAsync(operation, unit, cancellationToken);
}
