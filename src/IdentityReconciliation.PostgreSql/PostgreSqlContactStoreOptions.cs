using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IdentityReconciliation.PostgreSql;

/// <summary>Options of <see cref="PostgreSqlContactStore"/>.</summary>
public sealed class PostgreSqlContactStoreOptions
{
    /// <summary>The schema used when none is configured.</summary>
    public const string DefaultSchema = "public";

    /// <summary>
    /// The Npgsql connection string, for example <c>Host=db;Database=shop;Username=app;Password=...</c>. The store builds
    /// (and disposes) its own <see cref="NpgsqlDataSource"/> from it, with <c>Max Auto Prepare=32</c> and
    /// <c>No Reset On Close=true</c> unless the string sets them (the store leaves no session state on a connection).
    /// Required unless <see cref="DataSource"/> is set.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// A data source the host builds and owns (for example to configure authentication or logging on it). When set,
    /// <see cref="ConnectionString"/> is ignored and the store never disposes it.
    /// </summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>
    /// The schema holding the <c>"Contact"</c> table and the schema-version table: a plain identifier (letters, digits and
    /// underscores, not starting with a digit, at most 63 characters). Default: <see cref="DefaultSchema"/>.
    /// </summary>
    [Required]
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    public string Schema { get; set; } = DefaultSchema;

    /// <summary>
    /// Whether the store creates and migrates its schema on first use (under an advisory lock, so that instances starting
    /// together are safe). Turn it off when the host manages the schema itself: apply
    /// <see cref="PostgreSqlContactStore.GetSchemaScript(string)"/>; the store then only checks the schema version and fails
    /// with <see cref="ContactStoreSchemaException"/> when it does not match. Default: <see langword="true"/>.
    /// </summary>
    public bool AutoMigrate { get; set; } = true;

    /// <summary>
    /// How many times a unit of work is re-run after a transient failure (a dropped connection, a serialization failure,
    /// a deadlock, a server restarting) before <see cref="PostgreSqlTransientFailureException"/> is thrown; 0 disables
    /// retries. Default: 5.
    /// </summary>
    [Range(0, 100)]
    public int MaxRetryAttempts { get; set; } = 5;

    /// <summary>
    /// The delay before the first retry; each further retry waits twice as long, with random jitter of ±50 %. Default:
    /// 50 milliseconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Whether the store runs <c>VACUUM</c> on its tables after an erasure that changed something. PostgreSQL keeps the old
    /// row versions (dead tuples) of deleted and updated rows, erased values included, until a vacuum removes them; autovacuum
    /// gets there eventually, this gets there right after the erasure commits. It cannot remove a row version that a
    /// transaction still open elsewhere may see, it needs the table owner's rights (otherwise PostgreSQL only warns), and it
    /// does not reach the write-ahead log, replicas' copies or backups: see docs/erasure.md. Off by default, because every
    /// erasure then scans both tables. Default: <see langword="false"/>.
    /// </summary>
    public bool VacuumAfterErasure { get; set; }

    /// <summary>
    /// The most concurrent writes the store commits in one transaction (group commit). A write that finds the store's write
    /// slots busy waits in a queue, and the next free slot commits every waiting write, up to this many, in one transaction
    /// with one set of round trips, taking all their locks up front in the protocol's global order; a write that arrives
    /// when nothing waits runs alone, as before. Each write keeps its own result and its own failure: a group that fails
    /// fails its writes with nothing applied. 1 turns group commit off (every write is its own transaction). Default: 64.
    /// </summary>
    [Range(1, 1000)]
    public int GroupCommitMaxSize { get; set; } = 64;

    /// <summary>
    /// The most concurrent read-only lookups the store sends in one statement (lookup batching). A lookup (the reconciler's
    /// check before every request, which answers a request that changes nothing) that finds the store's lookup lanes busy
    /// waits in a queue, and the next free lane sends every waiting lookup, up to this many, as one statement in one round
    /// trip; a lookup that arrives when nothing waits runs alone, as before. 1 turns lookup batching off. Default: 32.
    /// </summary>
    [Range(1, 1000)]
    public int LookupBatchMaxSize { get; set; } = 32;

    /// <summary>
    /// How many lookups, or batches of lookups, one store runs at once before later lookups queue for lookup batching (each
    /// on its own pooled connection); values below 1 count as 1. Default: half the processors, at least one. Fewer lanes
    /// make larger batches: on the 2-core benchmark machine (100,000 contacts, 16 callers, alternating runs) one lane ran
    /// write-heavy at 7,790–8,774 writes/s against 4,731–6,115 with two, and retail at 27,315–30,091 against 25,055–30,932.
    /// </summary>
    internal int LookupBatchLanes { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>
    /// How many writes, or groups of writes, one store runs at once before later writes queue for group commit
    /// (each on its own pooled connection). For the benchmark's comparison (values below 1 count as 1); default 1, the
    /// fastest measured with 16 callers (write-heavy at 100,000 contacts: 4,481 writes/s with 1 slot, 3,812 with 2,
    /// 2,962 with 4, 2,940 without group commit).
    /// </summary>
    internal int GroupCommitSlots { get; set; } = 1;

    /// <summary>
    /// How long queued writes may wait without any write slot finishing or starting before one more slot opens (a write
    /// holding a slot may be waiting for a lock another instance holds). Default 20 milliseconds: a group takes 3–10 ms
    /// with 16 callers in the benchmark.
    /// </summary>
    internal TimeSpan GroupCommitStallDelay { get; set; } = DefaultGroupCommitStallDelay;

    /// <summary>The default of <see cref="GroupCommitStallDelay"/>, also used when it is not positive.</summary>
    internal static readonly TimeSpan DefaultGroupCommitStallDelay = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Whether the store records the change feed. For the benchmark's baseline only (the cost of the feed is measured
    /// against a store that does not record it): a store that does not record it breaks the <see cref="IContactStore"/>
    /// contract. Default: <see langword="true"/>.
    /// </summary>
    internal bool RecordChangeFeed { get; set; } = true;
}

/// <summary>Validates the data annotations of <see cref="PostgreSqlContactStoreOptions"/> (source-generated).</summary>
[OptionsValidator]
internal sealed partial class PostgreSqlContactStoreOptionsValidator : IValidateOptions<PostgreSqlContactStoreOptions>
{
    /// <summary>The data annotations, then a check that there is a data source or a connection string that parses.</summary>
    public static ValidateOptionsResult ValidateAll(string? name, PostgreSqlContactStoreOptions options)
    {
        var result = new PostgreSqlContactStoreOptionsValidator().Validate(name, options);
        if (result.Failed || options.DataSource is not null)
        {
            return result;
        }

        const string Setting = $"{nameof(PostgreSqlContactStoreOptions)}.{nameof(PostgreSqlContactStoreOptions.ConnectionString)}";
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail($"{Setting} is required (or set {nameof(PostgreSqlContactStoreOptions)}.{nameof(PostgreSqlContactStoreOptions.DataSource)}).");
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            if (string.IsNullOrWhiteSpace(builder.Host))
            {
                return ValidateOptionsResult.Fail($"{Setting} must name a server (Host=...).");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            // The parser's message names the bad keyword; the whole string is never echoed, since it may hold a password.
            return ValidateOptionsResult.Fail($"{Setting} is not a valid Npgsql connection string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}

/// <summary>Runs <see cref="PostgreSqlContactStoreOptionsValidator.ValidateAll"/> for the options system.</summary>
internal sealed class PostgreSqlContactStoreOptionsFullValidator : IValidateOptions<PostgreSqlContactStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlContactStoreOptions options) => PostgreSqlContactStoreOptionsValidator.ValidateAll(name, options);
}
