using System.Globalization;
using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// What the <c>ToString</c> of a type that holds an email or a phone number shows instead of them: whether each is
/// present. Values are personal data; a record's generated <c>ToString</c> would put them in every log line or message
/// that formats the object.
/// </summary>
internal static class IdentifierPrinting
{
    public static StringBuilder Identifiers(this StringBuilder builder, string? email, string? phoneNumber) =>
        builder.Append("HasEmail = ").Append(email is not null).Append(", HasPhoneNumber = ").Append(phoneNumber is not null);

    public static StringBuilder Instant(this StringBuilder builder, string name, DateTimeOffset? instant) =>
        builder.Append(", ").Append(name).Append(" = ").Append(instant?.ToString("O", CultureInfo.InvariantCulture));
}
