using System.ComponentModel.DataAnnotations;

namespace IdentityReconciliation.Providers;

/// <summary>
/// How a provider client copes with outages: a total timeout around everything, retries with exponential backoff and
/// jitter, a circuit breaker, and a timeout per attempt (in that order, outermost first).
/// </summary>
/// <remarks>
/// Identity-match calls are billed POSTs without an idempotency key, so by default a request is retried only where it
/// surely never reached the provider or the provider asks for it: a connection that could not be established (name
/// resolution, connect, TLS handshake) and HTTP 429. Everything that may have been processed and billed (an attempt
/// timeout after the request was sent, a connection dropped before the answer, HTTP 408, 502, 503 and 504) is retried
/// only when <see cref="RetryWhenPossiblyBilled"/> is set. HTTP 400, 401, 403, 404, 422 and 500 are never retried.
/// </remarks>
public sealed class IdentityMatchResilienceOptions : IValidatableObject
{
    /// <summary>
    /// The time allowed for a whole call: every attempt, every retry delay and any rate-limit wait. Default 30 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The time allowed for one HTTP attempt. Default 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many times a failed attempt is retried; 0 turns retries off. Default 3.</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>
    /// Also retry failures after which the provider may have done (and billed) the lookup: an attempt timeout, a
    /// connection dropped after the request was sent, HTTP 408, 502, 503 and 504. Each such retry may be billed again.
    /// Neither provider documents a 503 as "nothing was done", so it is here too. Default <see langword="false"/>.
    /// </summary>
    public bool RetryWhenPossiblyBilled { get; set; }

    /// <summary>The delay before the first retry; later ones double it, with jitter. Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest backoff delay between two attempts. Default 15 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The longest <c>Retry-After</c> (seconds or date form) that is honoured. A response asking for a longer wait is
    /// not retried: the call fails with <see cref="IdentityMatchProviderUnavailableException.RetryAfter"/> set.
    /// Default 30 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The share of failed attempts within <see cref="CircuitBreakerSamplingDuration"/> that opens the circuit.
    /// Failures are connection failures and drops, timeouts, HTTP 408, 429 and 5xx. Default 0.5.
    /// </summary>
    [Range(0.01, 1.0)]
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>The fewest attempts within the sampling window before the circuit can open. Default 10.</summary>
    [Range(2, 100_000)]
    public int CircuitBreakerMinimumThroughput { get; set; } = 10;

    /// <summary>The window over which the failure ratio is measured. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an open circuit fails calls fast before it lets one trial call through (half-open). Default 30 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (AttemptTimeout > TotalTimeout)
        {
            yield return new ValidationResult(
                $"{nameof(AttemptTimeout)} ({AttemptTimeout}) must not exceed {nameof(TotalTimeout)} ({TotalTimeout}).",
                [nameof(AttemptTimeout)]);
        }

        if (RetryMaxDelay < RetryBaseDelay)
        {
            yield return new ValidationResult(
                $"{nameof(RetryMaxDelay)} ({RetryMaxDelay}) must not be less than {nameof(RetryBaseDelay)} ({RetryBaseDelay}).",
                [nameof(RetryMaxDelay)]);
        }
    }
}
