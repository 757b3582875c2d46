namespace IdentityReconciliation;

/// <summary>
/// Thrown when an <see cref="IdentifyRequest"/> has no identifier or a malformed one. Nothing was written.
/// </summary>
/// <remarks>
/// <see cref="ArgumentException.ParamName"/> names the offending field as it appears in the product's JSON shape:
/// <c>email</c>, <c>phoneNumber</c>, or <c>request</c> when both are absent; <see cref="Reason"/> says what is wrong in a
/// form a program can act on (the message is for people and may change). The message never contains the rejected value,
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
    /// <param name="message">What is wrong.</param>
    /// <param name="paramName">The field: <c>email</c>, <c>phoneNumber</c> or <c>request</c>.</param>
    /// <param name="reason">What is wrong, for programs.</param>
    public InvalidIdentifyRequestException(string message, string paramName, InvalidIdentifyRequestReason reason)
        : base(message, paramName)
    {
        Reason = reason;
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

    /// <summary>What is wrong with the request; <see cref="InvalidIdentifyRequestReason.Unspecified"/> when the thrower did not say.</summary>
    public InvalidIdentifyRequestReason Reason { get; }
}

/// <summary>What is wrong with a rejected request (<see cref="InvalidIdentifyRequestException.Reason"/>).</summary>
public enum InvalidIdentifyRequestReason
{
    /// <summary>Not given: the exception was created without a reason (by code other than this package's).</summary>
    Unspecified = 0,

    /// <summary>Neither an email nor a phone number was given (after normalisation: an empty value counts as absent).</summary>
    MissingIdentifier = 1,

    /// <summary>
    /// The value holds a control character, a bidirectional text control or a character that shows nothing (a zero-width
    /// space, a soft hyphen...): it would be stored and matched as something other than what a person reads.
    /// </summary>
    InvisibleCharacter = 2,

    /// <summary>The value is not valid Unicode text (an unpaired surrogate).</summary>
    InvalidText = 3,

    /// <summary>The email is longer than <see cref="ContactPlanner.MaxEmailLength"/> characters.</summary>
    TooLong = 4,

    /// <summary>The email does not have exactly one <c>@</c> with a non-empty local part and domain.</summary>
    MalformedEmail = 5,

    /// <summary>The phone number is not an optional <c>+</c> and 1 to <see cref="ContactPlanner.MaxPhoneDigits"/> ASCII digits.</summary>
    MalformedPhoneNumber = 6,

    /// <summary>
    /// Every identifier the request brought is blocked (a configured value or a placeholder of the default blocklist), so
    /// nothing is left to identify a person by.
    /// </summary>
    Blocked = 7,
}
