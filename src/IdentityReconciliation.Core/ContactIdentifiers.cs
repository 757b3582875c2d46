using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// The normalised, validated identifiers of a request: what an <see cref="IContactStore"/> looks contacts up by.
/// At least one of the two is present.
/// </summary>
/// <param name="Email">The normalised email, or <see langword="null"/>.</param>
/// <param name="PhoneNumber">The normalised phone number, or <see langword="null"/>.</param>
/// <remarks><see cref="ToString"/> shows whether each identifier is present, never the values.</remarks>
public readonly record struct ContactIdentifiers(string? Email, string? PhoneNumber)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Identifiers(Email, PhoneNumber);
        return true;
    }
}
