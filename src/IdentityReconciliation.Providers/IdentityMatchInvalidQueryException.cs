namespace IdentityReconciliation.Providers;

/// <summary>
/// The provider rejected the query as invalid (HTTP 400, 404 or 422; Telesign 2801, 2807, 2808). The request is not
/// retried; fix the query. Queries that can be checked before sending (a malformed phone number, no field to compare)
/// throw <see cref="ArgumentException"/> instead, without any HTTP call.
/// </summary>
public sealed class IdentityMatchInvalidQueryException : IdentityMatchException
{
    /// <summary>Creates an exception with a default message.</summary>
    public IdentityMatchInvalidQueryException()
        : base("The identity-match provider rejected the query.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public IdentityMatchInvalidQueryException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public IdentityMatchInvalidQueryException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="provider"/>.</summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="details">The provider's answer, as far as one arrived.</param>
    /// <param name="innerException">The cause, if any.</param>
    public IdentityMatchInvalidQueryException(string? provider, string? message, IdentityMatchFailureDetails? details, Exception? innerException = null)
        : base(provider, message, details, innerException)
    {
    }
}
