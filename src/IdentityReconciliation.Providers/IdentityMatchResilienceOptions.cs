using System.ComponentModel.DataAnnotations;

namespace IdentityReconciliation.Providers;

/// <summary>
/// How a provider client copes with outages: a total timeout around everything, retries with exponential backoff and
/// jitter, a circuit breaker, and a timeout per attempt (in that order, outermost first).
/// </summary>
/// <remarks>
/// Identity-match calls are billed. A request is retried only where it surely did not take effect or the provider asks
/// for it: a connection failure before any response, an attempt timeout, and HTTP 408, 429, 502, 503 and 504. HTTP 500,
/// 400, 401, 403, 404 and 422 are never retried. Set <see cref="MaxRetryAttempts"/> to 0 to turn retries off.
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
    /// Failures are connection failures, timeouts, HTTP 408, 429 and 5xx. Default 0.5.
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
