namespace IdentityReconciliation.Tests.Support;

/// <summary>A clock the test moves by hand (the TimeProvider testing package is not available here).</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private DateTimeOffset _now;

    public ManualTimeProvider(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2023, 4, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>When set, every read advances the clock by this much, so that each contact gets its own time.</summary>
    public TimeSpan AutoAdvance { get; set; }

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
