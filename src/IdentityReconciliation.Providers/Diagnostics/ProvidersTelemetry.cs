using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

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

    /// <summary>Starts the trace of one call and logs its start.</summary>
    public static Activity? CallStarting(string provider, ILogger logger)
    {
        Log.CallStarting(logger, provider);
        return ActivitySource.StartActivity("IdentityMatch " + provider, ActivityKind.Client)?.SetTag("identity_match.provider", provider);
    }

    /// <summary>Traces, counts and logs a call that returned <paramref name="result"/>.</summary>
    public void CallCompleted(Activity? activity, ILogger logger, IdentityMatchResult result, int attempts, TimeSpan elapsed)
    {
        var outcome = result.Outcome switch
        {
            IdentityMatchOutcome.Compared => "compared",
            IdentityMatchOutcome.NoData => "no_data",
            IdentityMatchOutcome.OutOfCoverage => "out_of_coverage",
            _ => "not_applicable",
        };
        RecordCall(result.Provider, outcome);
        activity?.SetTag("identity_match.outcome", outcome).SetTag("identity_match.provider_status", result.ProviderStatus).SetTag("identity_match.attempts", attempts);
        Log.CallCompleted(logger, result.Provider, result.Outcome, result.ProviderStatus, result.ReferenceId, attempts, (long)elapsed.TotalMilliseconds);
    }

    /// <summary>Traces, counts and logs a call that threw <paramref name="exception"/>; never reads provider text.</summary>
    public void CallFailed(Activity? activity, ILogger logger, string provider, Exception exception, int attempts)
    {
        var failure = exception as IdentityMatchException;
        var errorType = exception.GetType().Name;
        RecordCall(provider, "error");
        RecordFailure(provider, errorType);
        activity?.SetStatus(ActivityStatusCode.Error, errorType).SetTag("error.type", errorType).SetTag("identity_match.attempts", failure?.Attempts ?? attempts)
            .SetTag("http.response.status_code", (int?)failure?.StatusCode);
        Log.CallFailed(logger, provider, errorType, (int?)failure?.StatusCode, failure?.ProviderStatus, failure?.ReferenceId, failure?.Attempts ?? attempts);
    }

    public void Dispose() => _meter.Dispose();
}
