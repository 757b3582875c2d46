using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Everything a provider client shares across calls and handler rotations: its pipeline (and so its circuit
/// breaker), its authenticator, its logger and its telemetry. One singleton per provider registration.
/// </summary>
/// <typeparam name="TClient">The client type, so that each provider gets its own singleton.</typeparam>
internal sealed class ProviderRuntime<TClient>
    where TClient : class
{
    public ProviderRuntime(
        string provider,
        IdentityMatchResilienceOptions resilience,
        int matchThreshold,
        IRequestAuthenticator authenticator,
        TimeProvider timeProvider,
        ILogger logger,
        ProvidersTelemetry telemetry,
        ResilienceStrategy? gate = null)
    {
        Provider = provider;
        Resilience = resilience;
        MatchThreshold = matchThreshold;
        Authenticator = authenticator;
        TimeProvider = timeProvider;
        Logger = logger;
        Telemetry = telemetry;
        Pipeline = IdentityMatchPipelineFactory.Create(provider, resilience, timeProvider, logger, telemetry, gate);
    }

    public string Provider { get; }

    public IdentityMatchResilienceOptions Resilience { get; }

    public int MatchThreshold { get; }

    public IRequestAuthenticator Authenticator { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    public ProvidersTelemetry Telemetry { get; }

    public ResiliencePipeline<HttpResponseMessage> Pipeline { get; }

    public IdentityMatchResilienceHandler CreateHandler() => new(Pipeline, Authenticator);
}
