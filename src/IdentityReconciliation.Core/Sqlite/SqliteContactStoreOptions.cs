using System.ComponentModel.DataAnnotations;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Sqlite;

/// <summary>Options of <see cref="SqliteContactStore"/>.</summary>
public sealed class SqliteContactStoreOptions
{
    /// <summary>The connection string used when none is configured: a file in the current directory.</summary>
    public const string DefaultConnectionString = "Data Source=identity-reconciliation.db";

    /// <summary>
    /// The Microsoft.Data.Sqlite connection string, for example <c>Data Source=contacts.db</c>. The store opens the file
    /// read-write and creates it when missing; it turns Microsoft.Data.Sqlite's connection pooling off and keeps its own
    /// connections open instead (one writer, a checkpointer, and a few readers with their statements prepared).
    /// Default: <see cref="DefaultConnectionString"/>.
    /// </summary>
    [Required]
    public string ConnectionString { get; set; } = DefaultConnectionString;

    /// <summary>
    /// How long a write waits for another process's write transaction on the same file before it fails with
    /// <see cref="ContactStoreBusyException"/> (whose inner exception is the <see cref="SqliteException"/>,
    /// <c>SQLITE_BUSY</c>). Default: 30 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Durability of commits: <see cref="SqliteSynchronousMode.Full"/> (default: an acknowledged write survives a power
    /// loss) or <see cref="SqliteSynchronousMode.Normal"/> (survives an application crash; faster).
    /// </summary>
    [EnumDataType(typeof(SqliteSynchronousMode))]
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>
    /// The most write requests the store commits in one transaction when many arrive at once (group commit). 1 turns
    /// batching off. Default: 128.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 128;

    /// <summary>
    /// Bytes of the database file each connection may memory-map for reading (<c>PRAGMA mmap_size</c>); 0 turns it off.
    /// Default: 256 MiB.
    /// </summary>
    [Range(0L, long.MaxValue)]
    public long MemoryMapSize { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How many pages the store's writes add to the WAL before its background thread copies them into the database file
    /// (a <c>PASSIVE</c> checkpoint, on a connection of its own), so that no commit waits for a checkpoint. When constant
    /// readers and writes keep the WAL from starting over and it reaches four times this size, the writer restarts it
    /// between two batches (a <c>RESTART</c> checkpoint on its own connection: the next commit writes it again from its
    /// first frame, in the blocks the file already has), waiting for readers of old frames for at most 50 ms; the file is
    /// cut back to eight times this size if it grew past that.
    /// 0 leaves checkpoints to SQLite, inside the commit that takes the WAL past 1,000 pages.
    /// Default: 1,000 (4 MiB of 4 KiB pages).
    /// </summary>
    [Range(0, 1_000_000)]
    public int CheckpointThreshold { get; set; } = 1000;

    /// <summary>
    /// Whether writes append their entries to the change feed. For the benchmark's baseline only: with it off the store
    /// breaks the change-feed contract of <see cref="IContactStore"/>. Default: <see langword="true"/>.
    /// </summary>
    internal bool RecordChangeFeed { get; set; } = true;
}

/// <summary>Validates <see cref="SqliteContactStoreOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class SqliteContactStoreOptionsValidator : IValidateOptions<SqliteContactStoreOptions>
{
    /// <summary>The data annotations, then a check that the connection string parses and names a database.</summary>
    public static ValidateOptionsResult ValidateAll(string? name, SqliteContactStoreOptions options)
    {
        var result = new SqliteContactStoreOptionsValidator().Validate(name, options);
        if (result.Failed || string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return result;
        }

        try
        {
            var builder = new SqliteConnectionStringBuilder(options.ConnectionString);
            if (string.IsNullOrWhiteSpace(builder.DataSource))
            {
                return ValidateOptionsResult.Fail($"{nameof(SqliteContactStoreOptions)}.{nameof(SqliteContactStoreOptions.ConnectionString)} must name a database file (Data Source=...).");
            }

            if (builder.Mode == SqliteOpenMode.ReadOnly)
            {
                return ValidateOptionsResult.Fail($"{nameof(SqliteContactStoreOptions)}.{nameof(SqliteContactStoreOptions.ConnectionString)} must not be read-only (Mode=ReadOnly): the store writes contacts.");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            // The parser's message names the bad keyword; it does not echo the whole string, which may hold a password.
            return ValidateOptionsResult.Fail($"{nameof(SqliteContactStoreOptions)}.{nameof(SqliteContactStoreOptions.ConnectionString)} is not a valid SQLite connection string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}

/// <summary>Runs <see cref="SqliteContactStoreOptionsValidator.ValidateAll"/> for the options system.</summary>
internal sealed class SqliteContactStoreOptionsFullValidator : IValidateOptions<SqliteContactStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteContactStoreOptions options) => SqliteContactStoreOptionsValidator.ValidateAll(name, options);
}

/// <summary>How hard SQLite works to make a commit durable (<c>PRAGMA synchronous</c>).</summary>
public enum SqliteSynchronousMode
{
    /// <summary>
    /// Every commit is flushed to the disk before it is acknowledged: an acknowledged write survives a power loss or an
    /// operating-system crash. The default.
    /// </summary>
    Full = 0,

    /// <summary>
    /// In WAL mode, commits are flushed at checkpoints only: an acknowledged write survives the application crashing, but
    /// the last commits may be lost if the machine loses power. Several times faster per commit on most disks.
    /// </summary>
    Normal = 1,
}
