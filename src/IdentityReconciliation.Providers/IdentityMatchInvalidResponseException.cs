namespace IdentityReconciliation.Providers;

/// <summary>
/// The provider answered, but the answer could not be read: malformed JSON, a missing block, a status or state this
/// client does not know, or an unexpected HTTP status. The request is not retried, because the provider may have
/// processed (and billed) it.
/// </summary>
public sealed class IdentityMatchInvalidResponseException : IdentityMatchException
{
    /// <summary>Creates an exception with a default message.</summary>
    public IdentityMatchInvalidResponseException()
        : base("The identity-match provider's answer could not be read.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public IdentityMatchInvalidResponseException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public IdentityMatchInvalidResponseException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="provider"/>.</summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="details">The provider's answer, as far as one arrived.</param>
    /// <param name="innerException">The cause, if any.</param>
    public IdentityMatchInvalidResponseException(string? provider, string? message, IdentityMatchFailureDetails? details, Exception? innerException = null)
        : base(provider, message, details, innerException)
    {
    }
}
