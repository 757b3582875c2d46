using System.Globalization;
using Dapper;
using IdentityReconciliation.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// The default <see cref="IContactStore"/>: one embedded SQLite database file that needs no server, reached through
/// statements prepared once per connection. Safe for many concurrent callers in one process and for several processes sharing the file.
/// </summary>
/// <remarks>
/// <para>
/// The schema (table <c>Contact</c> with the product's columns, indexes on <c>email</c>, <c>phoneNumber</c> and
/// <c>linkedId</c>, table <c>ContactLink</c> of merge evidence, table <c>ContactChange</c> of the change feed, schema version
/// in <c>PRAGMA user_version</c>) is created or
/// upgraded on first use. The database runs in WAL mode, so lookups read a consistent snapshot in parallel with a writer and
/// never wait for it. Every connection runs with <c>secure_delete</c> on, so that a deleted or overwritten value is zeroed
/// in the file rather than left in free space; see <see cref="EraseAsync"/> for the WAL.
/// </para>
/// <para>
/// Writes run in <c>BEGIN IMMEDIATE</c> transactions: the database's write lock is taken before the touched clusters are
/// loaded, so that no other connection, in this process or another, can change them before the commit. Inside one process
/// a single writer thread applies queued requests in arrival order, several per transaction (group commit, at most
/// <see cref="SqliteContactStoreOptions.MaxBatchSize"/>), each in its own savepoint, and completes a caller's task only
/// after the commit that contains its changes. Another process's writer is waited for up to
/// <see cref="SqliteContactStoreOptions.BusyTimeout"/>; then the request fails with
/// <see cref="ContactStoreBusyException"/> and nothing of it is written.
/// </para>
/// <para>
/// Lookups run on a small pool of open read connections, and writes on the writer's, each a session
/// (<c>SqliteSession</c>) with its statements prepared once and run through SQLitePCLRaw, because re-preparing and
/// re-binding per call (as any command-per-call mapper does) costs more than the lookup itself and allocates several
/// kilobytes per request. Schema work uses Dapper; the change-feed reads and erasure use Microsoft.Data.Sqlite commands.
/// </para>
/// <para>
/// No commit checkpoints the WAL: the writer runs with <c>wal_autocheckpoint = 0</c>, and a background thread of the store,
/// on a connection of its own, copies the WAL back into the database file once the writes have added
/// <see cref="SqliteContactStoreOptions.CheckpointThreshold"/> pages, and makes it start over from its first frame when
/// constant readers and writes keep it from doing so on its own (see the option).
/// </para>
/// </remarks>
public sealed partial class SqliteContactStore : IContactStore, IDisposable, IAsyncDisposable
{
    /// <summary>
    /// The schema version this store creates and understands, kept in <c>PRAGMA user_version</c>. Version 2 added the
    /// <c>ContactLink</c> table (merge evidence) and indexes on soft-deleted rows; version 3 added the <c>ContactChange</c>
    /// table (the change feed); version 4 reshaped the indexes on live rows so that a change of link writes one index
    /// entry (the email and phone indexes no longer hold <c>linkedId</c>; the link index holds secondaries only). An older
    /// database is upgraded in place on first use, keeping its contacts, links and change feed (the indexes are rebuilt
    /// once, inside the upgrade's transaction); a version 1 or 2 database's change feed starts empty at the upgrade
    /// (changes made before it were not recorded). A database of a newer version is refused.
    /// </summary>
    public const int SchemaVersion = SqliteSchema.Version;


    private const int MaxIdleReaders = 64;

    private readonly string _connectionString;
    private readonly string _dataSource;
    private readonly int _busyTimeoutMilliseconds;
    private readonly string _synchronous;
    private readonly long _mmapSize;
    private readonly int _maxBatchSize;
    private readonly bool _recordChangeFeed;
    private readonly int _checkpointThreshold;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private readonly Stack<SqliteSession> _idleReaders = new();
    private readonly object _gate = new();
    private SqliteWriter? _writer;
    private SqliteCheckpointer? _checkpointer;
    private volatile bool _initialized;
    private volatile bool _disposed;

    /// <summary>The background checkpointer, once the writer has started (for tests).</summary>
    internal SqliteCheckpointer? Checkpointer => _checkpointer;

    /// <summary>Creates a store over the SQLite database named by a connection string.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, for example <c>Data Source=contacts.db</c>.</param>
    /// <exception cref="OptionsValidationException">The connection string is empty or invalid.</exception>
    public SqliteContactStore(string connectionString)
        : this(Options.Create(new SqliteContactStoreOptions { ConnectionString = connectionString }))
    {
    }

    /// <summary>Creates a store.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">The logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public SqliteContactStore(IOptions<SqliteContactStoreOptions> options, ILogger<SqliteContactStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var validation = SqliteContactStoreOptionsValidator.ValidateAll(Options.DefaultName, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SqliteContactStoreOptions), validation.Failures);
        }

        var builder = new SqliteConnectionStringBuilder(value.ConnectionString)
        {
            Mode = SqliteOpenMode.ReadWriteCreate,

            // The store keeps its own connections open (one writer, a few readers with prepared statements); a pooled
            // connection would also carry a reader's query_only setting over to whoever takes it next.
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(value.BusyTimeout.TotalSeconds)),
        };
        _connectionString = builder.ToString();
        _dataSource = builder.DataSource;
        _busyTimeoutMilliseconds = (int)value.BusyTimeout.TotalMilliseconds;
        _synchronous = value.Synchronous == SqliteSynchronousMode.Normal ? "NORMAL" : "FULL";
        _mmapSize = value.MemoryMapSize;
        _maxBatchSize = value.MaxBatchSize;
        _recordChangeFeed = value.RecordChangeFeed;
        _checkpointThreshold = value.CheckpointThreshold;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    /// <exception cref="ContactStoreSchemaException">The database's contact schema is newer than this package understands.</exception>
    public async Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        var session = RentReader();
        try
        {
            // One read transaction: one consistent snapshot of the WAL database, never blocked by the writer.
            var contacts = session.LoadTouched(identifiers, inTransaction: false);
            ReturnReader(session);
            return contacts;
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            session.Dispose();
            throw Busy(ex);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <exception cref="ContactStoreSchemaException">The database's contact schema is newer than this package understands.</exception>
    public async Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await GetWriter().EnqueueAsync(identifiers, plan, cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            throw Busy(ex);
        }
    }

    /// <summary>Stops the writer after the requests already queued, and closes every connection.</summary>
    public void Dispose()
    {
        SqliteWriter? writer;
        SqliteCheckpointer? checkpointer;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            writer = _writer;
            _writer = null;
            checkpointer = _checkpointer;
            _checkpointer = null;
            while (_idleReaders.TryPop(out var session))
            {
                session.Dispose();
            }
        }

        writer?.Dispose(); // first: the queued requests commit, and may still report pages to the checkpointer
        checkpointer?.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private SqliteWriter GetWriter()
    {
        var writer = _writer;
        if (writer is not null)
        {
            return writer;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writer is null && _checkpointThreshold > 0)
            {
                _checkpointer = new SqliteCheckpointer(() => new SqliteSession(OpenConnection(ConnectionRole.Checkpointer)), _checkpointThreshold, "IdentityReconciliation SQLite checkpointer", _logger);
            }

            return _writer ??= new SqliteWriter(() => new SqliteSession(OpenConnection(ConnectionRole.Writer)), _maxBatchSize, _recordChangeFeed, TimeSpan.FromMilliseconds(_busyTimeoutMilliseconds), _checkpointer, "IdentityReconciliation SQLite writer", _logger);
        }
    }

    private SqliteSession RentReader()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idleReaders.TryPop(out var session))
            {
                return session;
            }
        }

        return new SqliteSession(OpenConnection(ConnectionRole.Reader));
    }

    private void ReturnReader(SqliteSession session)
    {
        lock (_gate)
        {
            if (!_disposed && _idleReaders.Count < MaxIdleReaders)
            {
                _idleReaders.Push(session);
                return;
            }
        }

        session.Dispose();
    }

    /// <summary>
    /// With a checkpointer, the writer's: it never checkpoints inside a commit (<c>wal_autocheckpoint = 0</c>; the
    /// checkpointer syncs as durably as the writer does), and its <c>journal_size_limit</c> lets a WAL that starts over
    /// keep its blocks unless it grew far past what the checkpointer lets it hold (SQLite's default keeps any size;
    /// 4 KiB pages assumed, SQLite's default).
    /// </summary>
    private string WriterCheckpointPragmas() =>
        _checkpointThreshold > 0
            ? string.Create(CultureInfo.InvariantCulture, $" PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {SqliteCheckpointer.WalSizeLimitBytes(_checkpointThreshold, 4096)};")
            : string.Empty;

    private SqliteConnection OpenConnection(ConnectionRole role)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            var busy = _busyTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture);
            var mmap = _mmapSize.ToString(CultureInfo.InvariantCulture);
            // The one writer gets a 32 MiB page cache: merges touch rows all over the file, and its cache outlives batches.
            // secure_delete zeroes what a delete or an update frees, so that an erased value does not survive in free space.
            pragma.CommandText = role switch
            {
                ConnectionRole.Writer => $"PRAGMA busy_timeout = {busy}; PRAGMA synchronous = {_synchronous}; PRAGMA mmap_size = {mmap}; PRAGMA cache_size = -32768; PRAGMA secure_delete = ON;{WriterCheckpointPragmas()}",
                // Reading once opens the WAL on the checkpointer's connection; it waits for nobody (the writer restarts the WAL).
                ConnectionRole.Checkpointer => $"PRAGMA busy_timeout = 0; PRAGMA synchronous = {_synchronous}; PRAGMA secure_delete = ON; SELECT count(*) FROM sqlite_schema;",
                _ => $"PRAGMA busy_timeout = {busy}; PRAGMA mmap_size = {mmap}; PRAGMA query_only = 1; PRAGMA secure_delete = ON;",
            };
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _initializeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            using var connection = OpenConnection(ConnectionRole.Writer);
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken)).ConfigureAwait(false);
            using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: false);
            var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition("PRAGMA user_version;", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (version > SchemaVersion)
            {
                throw new ContactStoreSchemaException(
                    $"The SQLite database '{_dataSource}' has contact schema version {version}, newer than the {SchemaVersion} this version of IdentityReconciliation understands. Upgrade the package.",
                    version,
                    SchemaVersion);
            }

            if (version < SchemaVersion)
            {
                await SqliteSchema.MigrateAsync(connection, transaction, version, cancellationToken).ConfigureAwait(false);
                if (version == 0)
                {
                    Log.SqliteSchemaCreated(_logger, SchemaVersion, _dataSource);
                }
                else
                {
                    Log.SqliteSchemaMigrated(_logger, _dataSource, version, SchemaVersion);
                }
            }

            transaction.Commit();
            _initialized = true;
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            throw Busy(ex);
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    /// <summary>
    /// SQLITE_BUSY or SQLITE_LOCKED (with any extended code): another connection kept a lock this one needed for longer
    /// than the busy timeout. The statement did not run, so the transaction holds nothing of the request.
    /// </summary>
    private static bool IsBusy(SqliteException exception) => (exception.SqliteErrorCode & 0xFF) is 5 or 6;

    /// <summary>The one translation of a busy database into <see cref="ContactStoreBusyException"/>: no path, no value.</summary>
    private ContactStoreBusyException Busy(SqliteException exception) => new(
        $"The SQLite contact database was locked by another connection for longer than {nameof(SqliteContactStoreOptions.BusyTimeout)} ({_busyTimeoutMilliseconds} ms). Nothing was written; try again later.",
        ContactStoreBusyException.DefaultRetryAfter,
        exception);

    private enum ConnectionRole
    {
        Reader,
        Writer,
        Checkpointer,
    }
}
