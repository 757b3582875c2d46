namespace IdentityReconciliation.Providers.Tests.Support;

/// <summary>
/// A wall clock that only moves when told to. Only <see cref="GetUtcNow"/> is manual: timers and
/// <see cref="TimeProvider.GetTimestamp"/> stay real, so timeouts and delays still run while the logic that reads the
/// date (the circuit breaker's break, signatures, token lifetimes) is driven by the test.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now;

    public ManualTimeProvider(DateTimeOffset start)
    {
        _now = start;
    }

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;

    public static ManualTimeProvider StartingNow() => new(DateTimeOffset.UtcNow);
}
