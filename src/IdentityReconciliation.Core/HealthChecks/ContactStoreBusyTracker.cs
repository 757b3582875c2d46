namespace IdentityReconciliation.HealthChecks;

/// <summary>
/// Remembers whether writes are timing out: the reconciler reports each <see cref="ContactStoreBusyException"/> and each
/// write that succeeds, and the health check reads the state. One per service provider; lock-free.
/// </summary>
internal sealed class ContactStoreBusyTracker(TimeProvider timeProvider)
{
    /// <summary>How long a busy failure keeps the health check at Degraded when no write succeeds after it.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private long _lastBusyUtcTicks;
    private int _busySinceLastSuccess;

    /// <summary>A request failed with <see cref="ContactStoreBusyException"/>.</summary>
    public void ReportBusy()
    {
        Volatile.Write(ref _lastBusyUtcTicks, timeProvider.GetUtcNow().UtcTicks);
        Interlocked.Increment(ref _busySinceLastSuccess);
    }

    /// <summary>A write went through: the store is no longer busy. Costs one read when nothing was busy.</summary>
    public void ReportWriteSucceeded()
    {
        if (Volatile.Read(ref _busySinceLastSuccess) != 0)
        {
            Interlocked.Exchange(ref _busySinceLastSuccess, 0);
        }
    }

    /// <summary>
    /// The failures since the last successful write and how long ago the last one was, or <see langword="null"/> when
    /// none happened within <see cref="Window"/>.
    /// </summary>
    public (int Failures, TimeSpan Ago)? RecentBusy()
    {
        var failures = Volatile.Read(ref _busySinceLastSuccess);
        if (failures == 0)
        {
            return null;
        }

        var ago = TimeSpan.FromTicks(timeProvider.GetUtcNow().UtcTicks - Volatile.Read(ref _lastBusyUtcTicks));
        return ago <= Window ? (failures, ago) : null;
    }
}
