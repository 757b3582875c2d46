namespace IdentityReconciliation;

/// <summary>
/// Turns the raw identifiers of a request into their canonical form before they are validated, matched and stored.
/// Replace it (for example with a full E.164 phone library) by registering your own implementation before or after
/// <c>AddIdentityReconciliation()</c>; the default is <see cref="DefaultContactNormalizer"/>.
/// </summary>
/// <remarks>
/// Implementations must be deterministic and thread-safe, and return <see langword="null"/> for a value that counts as absent.
/// Their output is then validated by <see cref="ContactPlanner.Validate(string?, string?)"/>.
/// Changing the normalisation of an existing store makes old and new values differ: migrate the stored values too.
/// </remarks>
public interface IContactNormalizer
{
    /// <summary>Normalises an email address.</summary>
    /// <param name="email">The raw value.</param>
    /// <returns>The normalised value, or <see langword="null"/> when it counts as absent.</returns>
    string? NormalizeEmail(string? email);

    /// <summary>Normalises a phone number.</summary>
    /// <param name="phoneNumber">The raw value.</param>
    /// <returns>The normalised value, or <see langword="null"/> when it counts as absent.</returns>
    string? NormalizePhoneNumber(string? phoneNumber);
}
