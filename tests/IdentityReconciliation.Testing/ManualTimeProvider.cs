namespace IdentityReconciliation.Testing;

/// <summary>
/// A wall clock the test moves by hand (the TimeProvider testing package is not available here). Only
/// <see cref="GetUtcNow"/> is manual: timers and <see cref="TimeProvider.GetTimestamp"/> stay real, so timeouts and delays
/// still run while the logic that reads the date (createdAt, the circuit breaker's break, signatures, token lifetimes) is
/// driven by the test.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private DateTimeOffset _now;

    public ManualTimeProvider(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2023, 4, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>When set, every read advances the clock by this much, so that each contact gets its own time.</summary>
    public TimeSpan AutoAdvance { get; set; }

    /// <summary>A clock that starts at the real current time (for servers that check a request's date against theirs).</summary>
    public static ManualTimeProvider StartingNow() => new(DateTimeOffset.UtcNow);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            var now = _now;
            _now += AutoAdvance;
            return now;
        }
    }

    public void Advance(TimeSpan by)
    {
        lock (_gate)
        {
            _now += by;
        }
    }
}
