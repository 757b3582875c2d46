using System.Globalization;
using System.Text.RegularExpressions;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Removes secrets and a query's personal fields from text a provider sent back (an error description may repeat the
/// request: its Authorization header, the customer ID, the name or date of birth).
/// </summary>
internal static class Redactor
{
    private const string Mask = "[redacted]";

    /// <summary>The values a query would leak if echoed: the phone number in its forms and every personal field.</summary>
    public static IEnumerable<string?> ValuesOf(IdentityMatchQuery query)
    {
        var digits = new string(query.PhoneNumber.Where(char.IsAsciiDigit).ToArray());
        var dateOfBirth = query.DateOfBirth;
        return [query.PhoneNumber, digits, query.FirstName, query.LastName, query.Address, query.Address2, query.Address3,
            query.City, query.PostalCode,
            dateOfBirth?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), dateOfBirth?.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
            dateOfBirth?.ToString("dd-MM-yyyy", CultureInfo.InvariantCulture), dateOfBirth?.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture),
            dateOfBirth?.ToString("dd/MM/yyyy", CultureInfo.InvariantCulture)];
    }

    /// <summary>
    /// <paramref name="text"/> with every value of <paramref name="secrets"/> replaced, longest first, ignoring case.
    /// Values shorter than four characters are replaced only as whole words, so that a short name does not mangle the
    /// rest of the text.
    /// </summary>
    public static string? Redact(string? text, IEnumerable<string?> secrets)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        foreach (var secret in secrets.Select(value => value?.Trim()).Where(value => value is { Length: >= 2 }).Distinct().OrderByDescending(value => value!.Length))
        {
            text = secret!.Length >= 4
                ? text.Replace(secret, Mask, StringComparison.OrdinalIgnoreCase)
                : Regex.Replace(text, $@"\b{Regex.Escape(secret)}\b", Mask, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }

        return text;
    }
}
