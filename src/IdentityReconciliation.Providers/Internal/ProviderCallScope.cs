using System.Diagnostics;
using IdentityReconciliation.Providers.Diagnostics;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>Traces, counts and logs one provider call.</summary>
internal sealed class ProviderCallScope : IDisposable
{
    private readonly string _provider;
    private readonly ProviderRuntimeInfo _runtime;
    private readonly Activity? _activity;
    private readonly long _started;

    private ProviderCallScope(string provider, ProviderRuntimeInfo runtime)
    {
        _provider = provider;
        _runtime = runtime;
        _started = runtime.TimeProvider.GetTimestamp();
        _activity = ProvidersTelemetry.ActivitySource.StartActivity("IdentityMatch " + provider, ActivityKind.Client);
        _activity?.SetTag("identity_match.provider", provider);
        Log.CallStarting(runtime.Logger, provider);
    }

    public static ProviderCallScope Start<TClient>(ProviderRuntime<TClient> runtime)
        where TClient : class =>
        new(runtime.Provider, new ProviderRuntimeInfo(runtime.TimeProvider, runtime.Logger, runtime.Telemetry));

    public void Completed(IdentityMatchOutcome outcome, string? providerStatus, int attempts)
    {
        var outcomeName = OutcomeName(outcome);
        _runtime.Telemetry.RecordCall(_provider, outcomeName);
        _activity?.SetTag("identity_match.outcome", outcomeName);
        _activity?.SetTag("identity_match.provider_status", providerStatus);
        _activity?.SetTag("identity_match.attempts", attempts);
        Log.CallCompleted(
            _runtime.Logger, _provider, outcome, providerStatus, attempts,
            (long)_runtime.TimeProvider.GetElapsedTime(_started).TotalMilliseconds);
    }

    /// <summary>Records a failure; always returns <see langword="false"/> so it can sit in an exception filter.</summary>
    public bool Failed(Exception exception, AttemptTracker? tracker)
    {
        var errorType = exception.GetType().Name;
        var status = exception switch
        {
            IdentityMatchProviderUnavailableException e => (int?)e.StatusCode,
            IdentityMatchConfigurationException e => (int?)e.StatusCode,
            IdentityMatchInvalidQueryException e => (int?)e.StatusCode,
            IdentityMatchInvalidResponseException e => (int?)e.StatusCode,
            _ => null,
        };
        var providerStatus = exception switch
        {
            IdentityMatchProviderUnavailableException e => e.ProviderStatus,
            IdentityMatchConfigurationException e => e.ProviderStatus,
            _ => null,
        };
        var attempts = tracker?.Attempts ?? 0;

        _runtime.Telemetry.RecordCall(_provider, "error");
        _runtime.Telemetry.RecordFailure(_provider, errorType);
        _activity?.SetStatus(ActivityStatusCode.Error, errorType);
        _activity?.SetTag("error.type", errorType);
        _activity?.SetTag("identity_match.attempts", attempts);
        if (status is not null)
        {
            _activity?.SetTag("http.response.status_code", status);
        }

        Log.CallFailed(_runtime.Logger, _provider, errorType, status, providerStatus, attempts);
        return false;
    }

    public void Dispose() => _activity?.Dispose();

    private static string OutcomeName(IdentityMatchOutcome outcome) => outcome switch
    {
        IdentityMatchOutcome.Compared => "compared",
        IdentityMatchOutcome.NoData => "no_data",
        IdentityMatchOutcome.OutOfCoverage => "out_of_coverage",
        IdentityMatchOutcome.NotApplicable => "not_applicable",
        _ => "unknown",
    };

    private sealed record ProviderRuntimeInfo(TimeProvider TimeProvider, Microsoft.Extensions.Logging.ILogger Logger, ProvidersTelemetry Telemetry);
}
