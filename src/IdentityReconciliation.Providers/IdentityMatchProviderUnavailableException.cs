namespace IdentityReconciliation.Providers;

/// <summary>
/// The provider failed, or did not answer, for longer than the resilience policy allows: a failure that is not retried
/// (by default everything that may have been billed), retries used up, the total timeout passed, the circuit breaker
/// open, the rate limiter refusing, or a provider status saying the service is temporarily unavailable.
/// </summary>
public sealed class IdentityMatchProviderUnavailableException : IdentityMatchException
{
    /// <summary>Creates an exception with a default message.</summary>
    public IdentityMatchProviderUnavailableException()
        : base("The identity-match provider is unavailable.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public IdentityMatchProviderUnavailableException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public IdentityMatchProviderUnavailableException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="provider"/>.</summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="details">The provider's last answer, as far as one arrived.</param>
    /// <param name="innerException">The cause, if any (a timeout, a broken circuit, a connection failure).</param>
    /// <param name="retryAfter">How long the provider, the circuit breaker or the rate limiter asks to wait, if known.</param>
    public IdentityMatchProviderUnavailableException(
        string? provider, string? message, IdentityMatchFailureDetails? details, Exception? innerException = null, TimeSpan? retryAfter = null)
        : base(provider, message, details, innerException)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>How long the provider (<c>Retry-After</c>), the open circuit or the rate limiter asks to wait, if known.</summary>
    public TimeSpan? RetryAfter { get; }
}
