namespace IdentityReconciliation;

/// <summary>
/// Thrown when an <see cref="IdentifyRequest"/> has no identifier or a malformed one. Nothing was written.
/// </summary>
/// <remarks>
/// <see cref="ArgumentException.ParamName"/> names the offending field as it appears in the product's JSON shape:
/// <c>email</c>, <c>phoneNumber</c>, or <c>request</c> when both are absent. The message never contains the rejected value,
/// which may be personal data.
/// </remarks>
public sealed class InvalidIdentifyRequestException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="paramName">The field: <c>email</c>, <c>phoneNumber</c> or <c>request</c>.</param>
    public InvalidIdentifyRequestException(string message, string paramName)
        : base(message, paramName)
    {
    }

    /// <summary>Creates the exception.</summary>
    public InvalidIdentifyRequestException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    public InvalidIdentifyRequestException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidIdentifyRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
