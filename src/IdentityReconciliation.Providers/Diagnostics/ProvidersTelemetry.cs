using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace IdentityReconciliation.Providers.Diagnostics;

/// <summary>
/// The package's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named
/// <see cref="IdentityMatchTelemetry.Name"/>.
/// </summary>
internal sealed class ProvidersTelemetry : IDisposable
{
    public static readonly ActivitySource ActivitySource = new(IdentityMatchTelemetry.Name, Version);

    private const string Version = "1.0";

    private readonly Meter _meter;
    private readonly Counter<long> _calls;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _rateLimitWaits;

    public ProvidersTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(IdentityMatchTelemetry.Name, Version);
        _calls = _meter.CreateCounter<long>(
            IdentityMatchTelemetry.CallsCounter, "{call}", "Identity-match calls made, by provider and outcome.");
        _failures = _meter.CreateCounter<long>(
            IdentityMatchTelemetry.FailuresCounter, "{call}", "Identity-match calls that threw, by provider and error type.");
        _retries = _meter.CreateCounter<long>(
            IdentityMatchTelemetry.RetriesCounter, "{retry}", "HTTP attempts retried, by provider.");
        _rateLimitWaits = _meter.CreateCounter<long>(
            IdentityMatchTelemetry.RateLimitWaitsCounter, "{wait}", "HTTP attempts that waited for the provider's rate limit.");
    }

    public void RecordCall(string provider, string outcome) =>
        _calls.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", outcome));

    public void RecordFailure(string provider, string errorType) =>
        _failures.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("error.type", errorType));

    public void RecordRetry(string provider) =>
        _retries.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void RecordRateLimitWait(string provider) =>
        _rateLimitWaits.Add(1, new KeyValuePair<string, object?>("provider", provider));

    public void Dispose() => _meter.Dispose();
}
