using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// One stored contact: the email and/or phone number of one purchase, and its place in its person's cluster.
/// </summary>
/// <param name="Id">The store-assigned identifier. Higher identifiers were created later.</param>
/// <param name="PhoneNumber">The normalised phone number, or <see langword="null"/>.</param>
/// <param name="Email">The normalised email address, or <see langword="null"/>.</param>
/// <param name="LinkedId">For a secondary contact, the identifier of its primary contact; <see langword="null"/> for a primary.</param>
/// <param name="LinkPrecedence">Whether the contact is the primary of its cluster or a secondary.</param>
/// <param name="CreatedAt">When the contact was created (UTC).</param>
/// <param name="UpdatedAt">When the contact was last changed (UTC).</param>
/// <param name="DeletedAt">When the contact was soft-deleted (UTC); deleted contacts neither match nor appear in results.</param>
/// <remarks><see cref="ToString"/> shows whether the contact has an email and a phone number, never the values.</remarks>
public sealed record Contact(
    long Id,
    string? PhoneNumber,
    string? Email,
    long? LinkedId,
    LinkPrecedence LinkPrecedence,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? DeletedAt = null)
{
    /// <summary>The identifier of the primary contact this contact belongs to: <see cref="LinkedId"/>, or its own <see cref="Id"/>.</summary>
    public long RootId => LinkedId ?? Id;

    // ToString shows whether the contact has an email and a phone number, never the values (personal data).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id).Append(", ").Identifiers(Email, PhoneNumber)
            .Append(", LinkedId = ").Append(LinkedId).Append(", LinkPrecedence = ").Append(LinkPrecedence)
            .Instant("CreatedAt", CreatedAt).Instant("UpdatedAt", UpdatedAt).Instant("DeletedAt", DeletedAt);
        return true;
    }
}
