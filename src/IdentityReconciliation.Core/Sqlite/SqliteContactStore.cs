using System.Data;
using System.Globalization;
using Dapper;
using IdentityReconciliation.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Sqlite;

/// <summary>
/// The default <see cref="IContactStore"/>: Dapper over Microsoft.Data.Sqlite, in one embedded database file that needs
/// no server. Safe for many concurrent callers in one process and for several processes sharing the file.
/// </summary>
/// <remarks>
/// <para>
/// The schema (table <c>Contact</c> with the product's columns, indexes on <c>email</c>, <c>phoneNumber</c> and
/// <c>linkedId</c>, schema version in <c>PRAGMA user_version</c>) is created on first use. The database runs in WAL mode,
/// so lookups read a consistent snapshot in parallel with a writer and never wait for it.
/// </para>
/// <para>
/// Writes run in <c>BEGIN IMMEDIATE</c> transactions: the database's write lock is taken before the touched clusters are
/// loaded, so that no other connection, in this process or another, can change them before the commit. Inside one process
/// writers also queue on an asynchronous lock and share one connection, so they wait without polling; another process's
/// writer is waited for up to <see cref="SqliteContactStoreOptions.BusyTimeout"/>.
/// </para>
/// </remarks>
public sealed class SqliteContactStore : IContactStore, IDisposable, IAsyncDisposable
{
    /// <summary>The schema version this store creates and understands, kept in <c>PRAGMA user_version</c>.</summary>
    public const int SchemaVersion = 1;

    private const string Columns = "id, phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt, deletedAt";

    // Every lookup is indexed: email and phoneNumber find the matches, the primary key and linkedId their clusters.
    internal const string TouchedClustersSql = $"""
        WITH roots(rootId) AS (
            SELECT coalesce(linkedId, id) FROM Contact WHERE email = @Email AND deletedAt IS NULL
            UNION
            SELECT coalesce(linkedId, id) FROM Contact WHERE phoneNumber = @PhoneNumber AND deletedAt IS NULL
        )
        SELECT {Columns} FROM Contact WHERE id IN roots AND deletedAt IS NULL
        UNION
        SELECT {Columns} FROM Contact WHERE linkedId IN roots AND deletedAt IS NULL
        ORDER BY id
        """;

    private const string InsertSql = """
        INSERT INTO Contact (phoneNumber, email, linkedId, linkPrecedence, createdAt, updatedAt)
        VALUES (@PhoneNumber, @Email, @LinkedId, @LinkPrecedence, @CreatedAt, @CreatedAt)
        RETURNING id
        """;

    private const string UpdateSql = """
        UPDATE Contact SET linkedId = @LinkedId, linkPrecedence = @LinkPrecedence, updatedAt = @UpdatedAt
        WHERE id IN @Ids AND deletedAt IS NULL
        """;

    private const string SchemaSql = """
        CREATE TABLE IF NOT EXISTS Contact (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            phoneNumber    TEXT NULL,
            email          TEXT NULL,
            linkedId       INTEGER NULL,
            linkPrecedence TEXT NOT NULL CHECK (linkPrecedence IN ('primary', 'secondary')),
            createdAt      TEXT NOT NULL,
            updatedAt      TEXT NOT NULL,
            deletedAt      TEXT NULL,
            CHECK ((linkPrecedence = 'primary') = (linkedId IS NULL))
        );
        CREATE INDEX IF NOT EXISTS IX_Contact_email ON Contact (email);
        CREATE INDEX IF NOT EXISTS IX_Contact_phoneNumber ON Contact (phoneNumber);
        CREATE INDEX IF NOT EXISTS IX_Contact_linkedId ON Contact (linkedId);
        """;

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
    private const int MaxIdsPerStatement = 500;

    private readonly string _connectionString;
    private readonly string _dataSource;
    private readonly int _busyTimeoutMilliseconds;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;
    private volatile bool _initialized;
    private bool _disposed;

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
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(value.BusyTimeout.TotalSeconds)),
        };
        _connectionString = builder.ToString();
        _dataSource = builder.DataSource;
        _busyTimeoutMilliseconds = (int)value.BusyTimeout.TotalMilliseconds;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Contact>> FindClustersAsync(ContactIdentifiers identifiers, CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var connection = new SqliteConnection(_connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return await LoadTouchedAsync(connection, null, identifiers, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Contact>> ReconcileAsync(
        ContactIdentifiers identifiers,
        Func<IReadOnlyList<Contact>, ContactChangeSet> plan,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await GetWriterAsync(cancellationToken).ConfigureAwait(false);

            // BEGIN IMMEDIATE: hold the database's write lock before reading, so that what the plan is made from is
            // still true at commit, whatever other processes do.
            using var transaction = connection.BeginTransaction(IsolationLevel.Serializable, deferred: false);
            var touched = await LoadTouchedAsync(connection, transaction, identifiers, cancellationToken).ConfigureAwait(false);
            var changes = plan(touched);
            if (changes.IsEmpty)
            {
                transaction.Commit();
                return touched;
            }

            // From here on the request completes: cancellation no longer applies.
            long? insertedId = null;
            if (changes.Insert is { } insert)
            {
                insertedId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    InsertSql,
                    new
                    {
                        insert.PhoneNumber,
                        insert.Email,
                        insert.LinkedId,
                        LinkPrecedence = ToText(insert.LinkPrecedence),
                        CreatedAt = FormatTimestamp(insert.CreatedAt),
                    },
                    transaction)).ConfigureAwait(false);
            }

            await ApplyUpdatesAsync(connection, transaction, changes.Updates).ConfigureAwait(false);
            transaction.Commit();
            return changes.ApplyTo(touched, insertedId);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _writeLock.Wait();
        try
        {
            _disposed = true;
            _writer?.Dispose();
            _writer = null;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal static string FormatTimestamp(DateTimeOffset value) => value.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTimestamp(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string ToText(LinkPrecedence precedence) => precedence == LinkPrecedence.Primary ? "primary" : "secondary";

    private static LinkPrecedence ParsePrecedence(string value) => value switch
    {
        "primary" => LinkPrecedence.Primary,
        "secondary" => LinkPrecedence.Secondary,
        _ => throw new InvalidDataException($"Contact.linkPrecedence holds '{value}', expected 'primary' or 'secondary'."),
    };

    private static async Task<IReadOnlyList<Contact>> LoadTouchedAsync(
        SqliteConnection connection,
        SqliteTransaction? transaction,
        ContactIdentifiers identifiers,
        CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<ContactRow>(new CommandDefinition(
            TouchedClustersSql,
            new { identifiers.Email, identifiers.PhoneNumber },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);

        var contacts = new List<Contact>();
        foreach (var row in rows)
        {
            contacts.Add(new Contact(
                row.Id,
                row.PhoneNumber,
                row.Email,
                row.LinkedId,
                ParsePrecedence(row.LinkPrecedence),
                ParseTimestamp(row.CreatedAt),
                ParseTimestamp(row.UpdatedAt),
                row.DeletedAt is null ? null : ParseTimestamp(row.DeletedAt)));
        }

        return contacts;
    }

    private static async Task ApplyUpdatesAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ContactUpdate> updates)
    {
        // The planner stamps one time on every update and most share one target: group them into few statements.
        foreach (var group in updates.GroupBy(static u => (u.LinkedId, u.LinkPrecedence, u.UpdatedAt)))
        {
            foreach (var chunk in group.Select(static u => u.Id).Chunk(MaxIdsPerStatement))
            {
                var changed = await connection.ExecuteAsync(new CommandDefinition(
                    UpdateSql,
                    new
                    {
                        group.Key.LinkedId,
                        LinkPrecedence = ToText(group.Key.LinkPrecedence),
                        UpdatedAt = FormatTimestamp(group.Key.UpdatedAt),
                        Ids = chunk,
                    },
                    transaction)).ConfigureAwait(false);
                if (changed != chunk.Length)
                {
                    throw new InvalidOperationException($"Expected to update {chunk.Length} contact(s) but updated {changed}: the store changed under its own write lock.");
                }
            }
        }
    }

    private async ValueTask<SqliteConnection> GetWriterAsync(CancellationToken cancellationToken)
    {
        // Called under _writeLock.
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_writer is { State: ConnectionState.Open })
        {
            return _writer;
        }

        _writer?.Dispose();
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(
                $"PRAGMA busy_timeout = {_busyTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture)}; PRAGMA synchronous = FULL;",
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _writer = connection;
        return connection;
    }

    private async ValueTask EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (_initialized)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            var connection = await GetWriterAsync(cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken)).ConfigureAwait(false);
            using var transaction = connection.BeginTransaction(IsolationLevel.Serializable, deferred: false);
            var version = await connection.ExecuteScalarAsync<int>(new CommandDefinition("PRAGMA user_version;", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (version > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"The SQLite database '{_dataSource}' has contact schema version {version}, newer than the {SchemaVersion} this version of IdentityReconciliation understands. Upgrade the package.");
            }

            if (version < SchemaVersion)
            {
                await connection.ExecuteAsync(new CommandDefinition(SchemaSql, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await connection.ExecuteAsync(new CommandDefinition($"PRAGMA user_version = {SchemaVersion};", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                Log.SqliteSchemaCreated(_logger, SchemaVersion, _dataSource);
            }

            transaction.Commit();
            _initialized = true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private sealed class ContactRow
    {
        public long Id { get; set; }

        public string? PhoneNumber { get; set; }

        public string? Email { get; set; }

        public long? LinkedId { get; set; }

        public string LinkPrecedence { get; set; } = "";

        public string CreatedAt { get; set; } = "";

        public string UpdatedAt { get; set; } = "";

        public string? DeletedAt { get; set; }
    }
}
