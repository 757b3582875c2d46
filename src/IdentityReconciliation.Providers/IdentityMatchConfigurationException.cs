using System.Net;

namespace IdentityReconciliation.Providers;

/// <summary>
/// The provider refused the call because of the credentials or the account: rejected credentials or signature
/// (HTTP 401/403), a payment problem (402), or a feature that is not enabled (Telesign 2806). Retrying does not help;
/// the message says what to fix.
/// </summary>
public sealed class IdentityMatchConfigurationException : IdentityMatchException
{
    /// <summary>Creates an exception with a default message.</summary>
    public IdentityMatchConfigurationException()
        : base("The identity-match provider rejected the configured credentials or account.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What to fix.</param>
    public IdentityMatchConfigurationException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What to fix.</param>
    /// <param name="innerException">The cause.</param>
    public IdentityMatchConfigurationException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="provider"/>.</summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="message">What to fix.</param>
    /// <param name="statusCode">The HTTP status of the provider's answer, if any.</param>
    /// <param name="providerStatus">The provider's own status or error code, if any.</param>
    /// <param name="errors">The errors from the provider's answer, if any.</param>
    public IdentityMatchConfigurationException(
        string? provider,
        string? message,
        HttpStatusCode? statusCode,
        string? providerStatus,
        IReadOnlyList<IdentityMatchProviderError>? errors = null)
        : base(provider, message, null)
    {
        StatusCode = statusCode;
        ProviderStatus = providerStatus;
        Errors = errors ?? [];
    }

    /// <summary>The HTTP status of the provider's answer, if any.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The provider's own status or error code, e.g. Telesign <c>2806</c>, if any.</summary>
    public string? ProviderStatus { get; }

    /// <summary>The errors from the provider's answer; empty when it gave none.</summary>
    public IReadOnlyList<IdentityMatchProviderError> Errors { get; } = [];
}
