namespace IdentityReconciliation.Providers;

/// <summary>
/// The provider refused the call because of the credentials or the account: rejected credentials or signature
/// (HTTP 401/403), the account's balance, plan or transaction cap (HTTP 402, Telesign 2812), or a feature that is not
/// enabled (Telesign 2806). Retrying does not help; the message says what to fix.
/// </summary>
public sealed class IdentityMatchConfigurationException : IdentityMatchException
{
    /// <summary>Creates an exception with a default message.</summary>
    public IdentityMatchConfigurationException()
        : base("The identity-match provider rejected the configured credentials or account.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public IdentityMatchConfigurationException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public IdentityMatchConfigurationException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="provider"/>.</summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="details">The provider's answer, as far as one arrived.</param>
    /// <param name="innerException">The cause, if any.</param>
    public IdentityMatchConfigurationException(string? provider, string? message, IdentityMatchFailureDetails? details, Exception? innerException = null)
        : base(provider, message, details, innerException)
    {
    }
}
