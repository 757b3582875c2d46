using System.Net;

namespace IdentityReconciliation.Providers;

/// <summary>
/// The provider answered, but the answer could not be read: malformed JSON, a missing block, or an HTTP status this
/// client does not know. The request is not retried, because the provider may have processed (and billed) it.
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
    /// <param name="message">What went wrong.</param>
    /// <param name="statusCode">The HTTP status of the answer.</param>
    /// <param name="innerException">The cause, if any (e.g. a JSON error).</param>
    public IdentityMatchInvalidResponseException(string? provider, string? message, HttpStatusCode statusCode, Exception? innerException)
        : base(provider, message, innerException)
    {
        StatusCode = statusCode;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode? StatusCode { get; }
}
