using System.Globalization;
using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// Merge evidence: the email and phone number of a request that joined two persons without inserting a contact (rule 5
/// of <see cref="ContactPlanner"/>). A store records it in the same transaction as the merge, because no contact row
/// shows why the two halves belong together; re-resolution after an erasure (<see cref="ErasurePlanner"/>) keeps them
/// together while a contact still holds the email and another the phone number.
/// </summary>
/// <remarks>
/// A link holds personal data: an erasure of either value deletes it, and <see cref="ToString"/> shows neither value.
/// A store keeps at most one link per (email, phone number) pair.
/// </remarks>
/// <param name="Email">The normalised email of the joining request.</param>
/// <param name="PhoneNumber">The normalised phone number of the joining request.</param>
/// <param name="CreatedAt">When the merge happened (UTC).</param>
public sealed record ContactLink(string Email, string PhoneNumber, DateTimeOffset CreatedAt)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("CreatedAt = ").Append(CreatedAt.ToString("O", CultureInfo.InvariantCulture));
        return true;
    }
}
