using System.Net;

namespace IdentityReconciliation.Providers;

/// <summary>
/// The provider failed, or did not answer, for longer than the resilience policy allows: retries were used up, the
/// total timeout passed, or the circuit breaker is open and fails fast.
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
    /// <param name="innerException">The cause, if any (a timeout, a broken circuit, a connection failure).</param>
    /// <param name="statusCode">The HTTP status of the last answer, if any arrived.</param>
    /// <param name="providerStatus">The provider's own status code of the last answer, if any.</param>
    /// <param name="attempts">How many HTTP requests were sent.</param>
    /// <param name="retryAfter">How long the provider or the circuit breaker asks to wait, if known.</param>
    public IdentityMatchProviderUnavailableException(
        string? provider,
        string? message,
        Exception? innerException,
        HttpStatusCode? statusCode,
        string? providerStatus,
        int attempts,
        TimeSpan? retryAfter = null)
        : base(provider, message, innerException)
    {
        StatusCode = statusCode;
        ProviderStatus = providerStatus;
        Attempts = attempts;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status of the last answer, or <see langword="null"/> when none arrived.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The provider's own status code of the last answer, e.g. Telesign <c>2802</c>, if any.</summary>
    public string? ProviderStatus { get; }

    /// <summary>How many HTTP requests were sent for the call (0 when the circuit breaker failed it fast).</summary>
    public int Attempts { get; }

    /// <summary>How long the provider (<c>Retry-After</c>) or the open circuit asks to wait, if known.</summary>
    public TimeSpan? RetryAfter { get; }
}
