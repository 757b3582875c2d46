using System.Collections.Frozen;

namespace IdentityReconciliation;

/// <summary>
/// The well-known placeholder values that <see cref="IdentityReconciliationOptions.UseDefaultBlocklist"/> blocks. Each
/// entry is a value that forms, cashiers, seed data and test code type when a customer has no email or phone number,
/// so that it would join unrelated customers into one person. Sources and reasons are in docs/guards.md.
/// </summary>
/// <remarks>
/// The rules work on normalised values and stay deliberately narrow: a real customer's value must never be blocked by
/// default (the product's worked examples, such as phone <c>123456</c>, are not). Hosts add their own values through
/// <see cref="IdentityReconciliationOptions.BlockedEmails"/> and <see cref="IdentityReconciliationOptions.BlockedPhoneNumbers"/>.
/// </remarks>
internal static class DefaultBlocklist
{
    /// <summary>A non-zero digit repeated this many times or more (<c>1111111</c>, <c>9999999999</c>) is a placeholder.</summary>
    public const int MinRepeatedDigits = 6;

    // Keyboard sequences typed to get past a required field. Shorter ones are left alone: the worked example's 123456
    // must keep working, and six or seven digits are real subscriber numbers in many numbering plans.
    private static readonly FrozenSet<string> SequencePhoneNumbers = FrozenSet.Create(
        StringComparer.Ordinal,
        "1234567890",
        "123456789",
        "12345678",
        "0123456789",
        "9876543210",
        "987654321",
        "0987654321");

    // Local parts that say "there is no email", at any domain: noemail@noemail.com, none@none.com, noreply@shop.example...
    private static readonly FrozenSet<string> NoEmailLocalParts = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "noemail",
        "no-email",
        "no_email",
        "no.email",
        "nomail",
        "no-mail",
        "none",
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
        "null",
        "na",
        "n/a",
        "unknown",
        "anonymous");

    // Whole addresses used as placeholders or test values (their local parts are real words, so only these exact values).
    private static readonly FrozenSet<string> PlaceholderEmails = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "test@test.com",
        "test@example.com",
        "example@example.com",
        "email@email.com",
        "email@example.com",
        "user@example.com",
        "no@email.com",
        "a@a.com",
        "abc@abc.com",
        "asdf@asdf.com",
        "x@x.com",
        "xxx@xxx.com");

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> SequencePhoneNumberLookup = SequencePhoneNumbers.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> NoEmailLocalPartLookup = NoEmailLocalParts.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Whether a normalised phone number is a well-known placeholder.</summary>
    public static bool IsBlockedPhoneNumber(string phoneNumber)
    {
        var digits = phoneNumber.AsSpan(phoneNumber.StartsWith('+') ? 1 : 0);
        if (digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9'))
        {
            return false; // not the default normaliser's shape: only explicitly configured values can match it
        }

        // Only zeros, at any length: no country code and no national number is all zeros (Segment's "zeroes" rule).
        if (!digits.ContainsAnyExcept('0'))
        {
            return true;
        }

        // One digit repeated: 1111111, 9999999999.
        if (digits.Length >= MinRepeatedDigits && !digits.ContainsAnyExcept(digits[0]))
        {
            return true;
        }

        return digits.Length >= 8 && SequencePhoneNumberLookup.Contains(digits);
    }

    /// <summary>Whether a normalised email is a well-known placeholder.</summary>
    public static bool IsBlockedEmail(string email)
    {
        var at = email.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0)
        {
            return false;
        }

        return NoEmailLocalPartLookup.Contains(email.AsSpan(0, at))
            || PlaceholderEmails.Contains(email);
    }
}
