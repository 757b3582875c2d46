namespace IdentityReconciliation.Providers.Tests.Support;

/// <summary>A clock that only moves when told to. Timers are not supported: use it where no delay runs.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now;

    public ManualTimeProvider(DateTimeOffset start)
    {
        _now = start;
    }

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
