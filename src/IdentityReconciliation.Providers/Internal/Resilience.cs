using System.Net;
using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Runs each request through the registration's pipeline and re-sends the same message on each attempt; the signing
/// handler inside it signs every attempt afresh (dotnet/extensions <c>ResilienceHandler</c>). The attempt count and
/// the last status travel in <see cref="ResilienceContext.Properties"/> of the context the client leaves in
/// <see cref="HttpRequestMessage.Options"/>.
/// </summary>
internal sealed class ResilienceHandler(ResiliencePipeline<HttpResponseMessage> pipeline) : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<ResilienceContext> ContextKey = new("IdentityReconciliation.Providers.ResilienceContext");

    public static readonly ResiliencePropertyKey<int> AttemptsKey = new("IdentityReconciliation.Providers.Attempts");

    public static readonly ResiliencePropertyKey<HttpStatusCode?> LastStatusKey = new("IdentityReconciliation.Providers.LastStatus");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var owned = !request.Options.TryGetValue(ContextKey, out var context);
        context ??= ResilienceContextPool.Shared.Get(cancellationToken);
        request.Options.Set(ContextKey, context);
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    ctx.Properties.Set(AttemptsKey, ctx.Properties.GetValue(AttemptsKey, 0) + 1);
                    try
                    {
                        var response = await state.Handler.SendCoreAsync(state.Request, ctx.CancellationToken).ConfigureAwait(false);
                        ctx.Properties.Set(LastStatusKey, response.StatusCode);
                        return Outcome.FromResult(response);
                    }
                    catch (Exception exception)
                    {
                        return Outcome.FromException<HttpResponseMessage>(exception);
                    }
                },
                context,
                (Handler: this, Request: request)).ConfigureAwait(false);
            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            if (owned)
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
    }

    private Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);
}

/// <summary>
/// Builds a registration's pipeline: total timeout → retry → circuit breaker → (CM.com rate limit) → attempt timeout.
/// Built once per registration, so the circuit breaker's state survives <c>IHttpClientFactory</c> handler rotation.
/// </summary>
internal static class ResiliencePipelines
{
    public static ResiliencePipeline<HttpResponseMessage> Create(
        string provider, IdentityMatchResilienceOptions options, TimeProvider timeProvider, ILogger logger, ProvidersTelemetry telemetry, ResilienceStrategy? rateLimit)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = provider, TimeProvider = timeProvider }
            .AddTimeout(new TimeoutStrategyOptions { Name = "TotalTimeout", Timeout = options.TotalTimeout });
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, options, timeProvider)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? GetRetryAfter(response, timeProvider) : null),
                OnRetry = args => Logged(() =>
                {
                    telemetry.RecordRetry(provider);
                    Log.Retrying(logger, provider, args.AttemptNumber + 1, args.Outcome.Exception?.GetType().Name ?? $"HTTP {(int)args.Outcome.Result!.StatusCode}", args.RetryDelay.TotalMilliseconds);
                }),
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            FailureRatio = options.CircuitBreakerFailureRatio,
            MinimumThroughput = options.CircuitBreakerMinimumThroughput,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            BreakDuration = options.CircuitBreakerBreakDuration,
            ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome)),
            OnOpened = args => Logged(() => Log.CircuitOpened(logger, provider, args.BreakDuration.TotalMilliseconds)),
            OnHalfOpened = _ => Logged(() => Log.CircuitHalfOpened(logger, provider)),
            OnClosed = _ => Logged(() => Log.CircuitClosed(logger, provider)),
        });
        if (rateLimit is not null)
        {
            builder.AddStrategy(_ => rateLimit, new RateLimitStrategyOptions());
        }

        return builder.AddTimeout(new TimeoutStrategyOptions { Name = "AttemptTimeout", Timeout = options.AttemptTimeout }).Build();
    }

    /// <summary>
    /// Whether an attempt may be retried. Always: a connection that was never established, and 429 (the provider
    /// asks). Only with <see cref="IdentityMatchResilienceOptions.RetryWhenPossiblyBilled"/>: failures after which the
    /// provider may have done the lookup. Never a wait beyond <see cref="IdentityMatchResilienceOptions.MaxRetryAfter"/>.
    /// </summary>
    internal static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, IdentityMatchResilienceOptions options, TimeProvider timeProvider)
    {
        if (outcome.Exception is { } exception)
        {
            return NeverSent(exception) ||
                (options.RetryWhenPossiblyBilled && exception is HttpRequestException or TimeoutRejectedException);
        }

        var response = outcome.Result!;
        var retryable = response.StatusCode == HttpStatusCode.TooManyRequests ||
            (options.RetryWhenPossiblyBilled && response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.BadGateway or
                HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout);
        return retryable && (GetRetryAfter(response, timeProvider) is not { } wait || wait <= options.MaxRetryAfter);
    }

    /// <summary>Name resolution, connect or TLS handshake failed: the request never left the process.</summary>
    internal static bool NeverSent(Exception exception) => exception is HttpRequestException
    {
        HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError,
    };

    /// <summary>What the circuit breaker counts as a failure: no answer, a timeout, 408, 429 or any 5xx.</summary>
    internal static bool IsFailure(Outcome<HttpResponseMessage> outcome) => outcome.Exception is not null
        ? outcome.Exception is HttpRequestException or TimeoutRejectedException
        : (int)outcome.Result!.StatusCode >= 500 || outcome.Result.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;

    /// <summary>The wait that a <c>Retry-After</c> header asks for, in seconds or date form; never negative.</summary>
    internal static TimeSpan? GetRetryAfter(HttpResponseMessage response, TimeProvider timeProvider) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
        { Date: { } date } => date - timeProvider.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private static ValueTask Logged(Action log)
    {
        log();
        return default;
    }

    private sealed class RateLimitStrategyOptions : ResilienceStrategyOptions
    {
        public RateLimitStrategyOptions() => Name = "RateLimit";
    }
}
