using System.Net;
using IdentityReconciliation.Providers.Diagnostics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Builds a provider's pipeline: total timeout → retry → circuit breaker → (rate limit gate) → attempt timeout.
/// One pipeline is built per provider registration and shared by every handler instance, so the circuit breaker's
/// state survives <c>IHttpClientFactory</c> handler rotation.
/// </summary>
internal static class IdentityMatchPipelineFactory
{
    public static ResiliencePipeline<HttpResponseMessage> Create(
        string provider,
        IdentityMatchResilienceOptions options,
        TimeProvider timeProvider,
        ILogger logger,
        ProvidersTelemetry telemetry,
        ResilienceStrategy? gate = null)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>
        {
            Name = provider,
            TimeProvider = timeProvider,
        };

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "TotalTimeout", Timeout = options.TotalTimeout });

        if (options.MaxRetryAttempts > 0)
        {
            var maxRetryAfter = options.MaxRetryAfter;
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "Retry",
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, maxRetryAfter, timeProvider)),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result is { } response ? GetRetryAfter(response, timeProvider) : null),
                OnRetry = args =>
                {
                    telemetry.RecordRetry(provider);
                    Log.Retrying(logger, provider, args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            Name = "CircuitBreaker",
            FailureRatio = options.CircuitBreakerFailureRatio,
            MinimumThroughput = options.CircuitBreakerMinimumThroughput,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            BreakDuration = options.CircuitBreakerBreakDuration,
            ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome)),
            OnOpened = args =>
            {
                Log.CircuitOpened(logger, provider, args.BreakDuration.TotalMilliseconds);
                return default;
            },
            OnHalfOpened = _ =>
            {
                Log.CircuitHalfOpened(logger, provider);
                return default;
            },
            OnClosed = _ =>
            {
                Log.CircuitClosed(logger, provider);
                return default;
            },
        });

        if (gate is not null)
        {
            builder.AddStrategy(_ => gate, new GateStrategyOptions());
        }

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "AttemptTimeout", Timeout = options.AttemptTimeout });

        return builder.Build();
    }

    /// <summary>
    /// Whether an attempt may be retried: the request surely did not take effect (no response, attempt timed out) or
    /// the provider asks for a retry (408, 429, 502, 503, 504) within <paramref name="maxRetryAfter"/>.
    /// </summary>
    internal static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, TimeSpan maxRetryAfter, TimeProvider timeProvider)
    {
        if (outcome.Exception is not null)
        {
            return outcome.Exception is HttpRequestException or TimeoutRejectedException;
        }

        var response = outcome.Result;
        if (response is null || !IsRetryableStatus(response.StatusCode))
        {
            return false;
        }

        return GetRetryAfter(response, timeProvider) is not { } retryAfter || retryAfter <= maxRetryAfter;
    }

    internal static bool IsRetryableStatus(HttpStatusCode statusCode) => statusCode is
        HttpStatusCode.RequestTimeout or
        HttpStatusCode.TooManyRequests or
        HttpStatusCode.BadGateway or
        HttpStatusCode.ServiceUnavailable or
        HttpStatusCode.GatewayTimeout;

    /// <summary>What the circuit breaker counts as a failure: no response, a timeout, 408, 429 or any 5xx.</summary>
    internal static bool IsFailure(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is not null)
        {
            return outcome.Exception is HttpRequestException or TimeoutRejectedException;
        }

        return outcome.Result is { } response &&
            ((int)response.StatusCode >= 500 ||
             response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
    }

    /// <summary>The wait that a <c>Retry-After</c> header asks for, in seconds or date form; never negative.</summary>
    internal static TimeSpan? GetRetryAfter(HttpResponseMessage response, TimeProvider timeProvider)
    {
        var header = response.Headers.RetryAfter;
        if (header is null)
        {
            return null;
        }

        if (header.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } exception
            ? exception.GetType().Name
            : $"HTTP {(int)(outcome.Result?.StatusCode ?? 0)}";

    private sealed class GateStrategyOptions : ResilienceStrategyOptions
    {
        public GateStrategyOptions()
        {
            Name = "RateLimit";
        }
    }
}
