namespace IdentityReconciliation.Providers;

/// <summary>
/// The base of every exception that an identity-match provider throws. Messages never contain credentials, tokens or
/// the query's personal details.
/// </summary>
public class IdentityMatchException : Exception
{
    /// <summary>Creates an exception with a default message.</summary>
    public IdentityMatchException()
        : base("The identity-match provider call failed.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public IdentityMatchException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public IdentityMatchException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="provider"/>.</summary>
    /// <param name="provider">The provider's name.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public IdentityMatchException(string? provider, string? message, Exception? innerException)
        : base(message, innerException)
    {
        Provider = provider;
    }

    /// <summary>The name of the provider that failed, e.g. <c>Telesign</c> or <c>CM.com</c>.</summary>
    public string? Provider { get; }
}
