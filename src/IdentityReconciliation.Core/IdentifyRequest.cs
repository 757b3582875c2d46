using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// The identifiers one purchase brings. At least one of them must be present.
/// </summary>
/// <param name="Email">The customer's email address, or <see langword="null"/>.</param>
/// <param name="PhoneNumber">The customer's phone number, or <see langword="null"/>.</param>
/// <remarks><see cref="ToString"/> shows whether each identifier is present, never the values.</remarks>
public sealed record IdentifyRequest(string? Email, string? PhoneNumber)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Identifiers(Email, PhoneNumber);
        return true;
    }
}
