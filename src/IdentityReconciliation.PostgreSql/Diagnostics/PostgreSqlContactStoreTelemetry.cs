using System.Diagnostics.Metrics;

namespace IdentityReconciliation.PostgreSql.Diagnostics;

/// <summary>
/// The name of the PostgreSQL store's <see cref="Meter"/> and of its instruments, for telemetry subscriptions
/// (<c>.AddMeter(PostgreSqlContactStoreTelemetry.Name)</c>). The core package's meter (<c>IdentityReconciliation</c>)
/// counts what requests did; this one counts what the database made the store do again.
/// </summary>
public static class PostgreSqlContactStoreTelemetry
{
    /// <summary>The meter's name: <c>IdentityReconciliation.PostgreSql</c>.</summary>
    public const string Name = "IdentityReconciliation.PostgreSql";

    /// <summary>Units of work run again after a transient failure; tagged <c>operation</c>.</summary>
    public const string RetriesCounter = "identity_reconciliation.postgresql.retries";

    /// <summary>
    /// Restarts of the locking protocol (a touched cluster was merged by another transaction while its lock was taken); tagged
    /// <c>operation</c>. <c>reconcile_snapshot</c> counts writes planned from the reconciler's lookup whose clusters had
    /// changed by the time their locks were taken, so that the store loaded and planned them again.
    /// </summary>
    public const string RestartsCounter = "identity_reconciliation.postgresql.restarts";

    /// <summary>Transient database failures (dropped connection, serialization failure, deadlock, server restarting); tagged <c>operation</c>, <c>sqlstate</c> and <c>retried</c>.</summary>
    public const string TransientFailuresCounter = "identity_reconciliation.postgresql.transient_failures";

    /// <summary>Units of work given up because a lock, statement or connection wait elapsed (<see cref="ContactStoreBusyException"/>); tagged <c>operation</c>.</summary>
    public const string BusyCounter = "identity_reconciliation.postgresql.busy";

    /// <summary>The number of writes committed together, recorded once per group of two or more (group commit).</summary>
    public const string GroupCommitSizeHistogram = "identity_reconciliation.postgresql.group_commit.size";

    /// <summary>The number of read-only lookups sent together in one statement, recorded once per batch of two or more (lookup batching).</summary>
    public const string LookupBatchSizeHistogram = "identity_reconciliation.postgresql.lookup_batch.size";

    /// <summary>
    /// Extra write slots opened because queued writes waited the stall delay without any slot finishing or starting (a
    /// write holding a slot may be waiting for a lock another instance holds).
    /// </summary>
    public const string GroupCommitStallsCounter = "identity_reconciliation.postgresql.group_commit.stalls";
}

/// <summary>The instruments of <see cref="PostgreSqlContactStoreTelemetry.Name"/>; tags carry no personal data.</summary>
internal static class PostgreSqlStoreMetrics
{
    private static readonly Meter Meter = new(PostgreSqlContactStoreTelemetry.Name);

    private static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        PostgreSqlContactStoreTelemetry.RetriesCounter, "{retry}", "Units of work run again after a transient failure.");

    private static readonly Counter<long> Restarts = Meter.CreateCounter<long>(
        PostgreSqlContactStoreTelemetry.RestartsCounter, "{restart}", "Restarts of the locking protocol after a concurrent merge.");

    private static readonly Counter<long> TransientFailures = Meter.CreateCounter<long>(
        PostgreSqlContactStoreTelemetry.TransientFailuresCounter, "{failure}", "Transient database failures.");

    private static readonly Counter<long> BusyFailures = Meter.CreateCounter<long>(
        PostgreSqlContactStoreTelemetry.BusyCounter, "{failure}", "Units of work given up because a wait elapsed.");

    private static readonly Histogram<int> GroupSizes = Meter.CreateHistogram<int>(
        PostgreSqlContactStoreTelemetry.GroupCommitSizeHistogram, "{write}", "Writes committed in one transaction by group commit.");

    private static readonly Counter<long> GroupStalls = Meter.CreateCounter<long>(
        PostgreSqlContactStoreTelemetry.GroupCommitStallsCounter, "{slot}", "Extra write slots opened for a queue that did not move.");

    private static readonly Histogram<int> LookupBatchSizes = Meter.CreateHistogram<int>(
        PostgreSqlContactStoreTelemetry.LookupBatchSizeHistogram, "{lookup}", "Read-only lookups sent together in one statement by lookup batching.");

    public static void GroupCommitted(int size) => GroupSizes.Record(size);

    public static void LookupsBatched(int size) => LookupBatchSizes.Record(size);

    public static void GroupCommitStalled() => GroupStalls.Add(1);

    public static void Retry(string operation) => Retries.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public static void Restart(string operation) => Restarts.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public static void Busy(string operation) => BusyFailures.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public static void TransientFailure(string operation, string? sqlState, bool retried) => TransientFailures.Add(
        1,
        new KeyValuePair<string, object?>("operation", operation),
        new KeyValuePair<string, object?>("sqlstate", sqlState ?? "none"),
        new KeyValuePair<string, object?>("retried", retried));
}
