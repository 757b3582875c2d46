using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IdentityReconciliation.Providers;

/// <summary>A phone number and the personal details to compare with what its mobile operator holds.</summary>
/// <remarks>
/// Every field but <see cref="PhoneNumber"/> is optional, but at least one of them must be set. A provider ignores
/// the fields it does not support (CM.com has no city, state or country; Telesign has one address line, so the
/// address lines are joined). <see cref="ToString"/> masks the phone number and leaves the personal details out, so a
/// query can be logged.
/// </remarks>
public sealed record IdentityMatchQuery
{
    private readonly string _phoneNumber = string.Empty;

    /// <summary>Creates a query for <paramref name="phoneNumber"/>.</summary>
    /// <param name="phoneNumber">
    /// The phone number in international (E.164) form, e.g. <c>+15555551212</c>. Spaces, dashes, dots and brackets are
    /// removed before use.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="phoneNumber"/> is null, empty or white space.</exception>
    public IdentityMatchQuery(string phoneNumber)
    {
        PhoneNumber = phoneNumber;
    }

    /// <summary>The phone number in international (E.164) form, e.g. <c>+15555551212</c>.</summary>
    /// <exception cref="ArgumentException">The value is null, empty or white space.</exception>
    public string PhoneNumber
    {
        get => _phoneNumber;
        init
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _phoneNumber = value;
        }
    }

    /// <summary>The person's first (given) name.</summary>
    public string? FirstName { get; init; }

    /// <summary>The person's last (family) name.</summary>
    public string? LastName { get; init; }

    /// <summary>The first address line: street and house number.</summary>
    public string? Address { get; init; }

    /// <summary>An optional second address line.</summary>
    public string? Address2 { get; init; }

    /// <summary>An optional third address line.</summary>
    public string? Address3 { get; init; }

    /// <summary>The city (Telesign only).</summary>
    public string? City { get; init; }

    /// <summary>The state or province (Telesign only).</summary>
    public string? State { get; init; }

    /// <summary>The postal code.</summary>
    public string? PostalCode { get; init; }

    /// <summary>The country (Telesign only), e.g. <c>US</c>.</summary>
    public string? Country { get; init; }

    /// <summary>The person's date of birth, sent as <c>YYYY-MM-DD</c>.</summary>
    public DateOnly? DateOfBirth { get; init; }

    /// <summary>Describes the query with the phone number masked and without any personal detail.</summary>
    /// <returns>For example <c>IdentityMatchQuery { PhoneNumber = ********1212, Fields = FirstName, LastName }</c>.</returns>
    public override string ToString()
    {
        var builder = new StringBuilder("IdentityMatchQuery { PhoneNumber = ");
        builder.Append(Mask(PhoneNumber)).Append(", Fields = ");
        var first = true;
        foreach (var (name, set) in SetFields())
        {
            if (!set)
            {
                continue;
            }

            builder.Append(first ? string.Empty : ", ").Append(name);
            first = false;
        }

        return builder.Append(first ? "(none) }" : " }").ToString();
    }

    /// <summary>
    /// The phone number's digits, after removing spaces, dashes, dots and brackets and checking that what remains is
    /// E.164: an optional (or, with <paramref name="requirePlus"/>, mandatory) <c>+</c>, then 7 to 15 digits not
    /// starting with 0 (the shortest numbers in use, e.g. +683 4002 in Niue, have 7). Messages never repeat the number.
    /// </summary>
    /// <exception cref="ArgumentException">The number is not E.164.</exception>
    internal string PhoneDigits(bool requirePlus, string paramName)
    {
        var match = Regex.Match(PhoneNumber.Trim(), @"^(\+?)[\s\-.()]*((?:\d[\s\-.()]*)*)$", RegexOptions.None, TimeSpan.FromSeconds(1));
        var digits = match.Success ? new string(match.Groups[2].Value.Where(char.IsAsciiDigit).ToArray()) : null;
        var problem = digits is null
            ? "it contains a character other than digits and separators"
            : requirePlus && match.Groups[1].Length == 0 ? "it must start with '+' and the country code, e.g. +31612345678"
            : digits.Length is < 7 or > 15 || digits[0] == '0' ? "a country code (not starting with 0) and 7 to 15 digits in all" : null;
        return problem is null
            ? digits!
            : throw new ArgumentException($"The phone number must be in international E.164 form, e.g. +15555551212: {problem}.", paramName);
    }

    internal static string Format(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    internal static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string Mask(string phoneNumber)
    {
        var visible = Math.Min(4, phoneNumber.Length / 3);
        return new string('*', phoneNumber.Length - visible) + phoneNumber[^visible..];
    }

    private IEnumerable<(string Name, bool Set)> SetFields()
    {
        yield return (nameof(FirstName), Clean(FirstName) is not null);
        yield return (nameof(LastName), Clean(LastName) is not null);
        yield return (nameof(Address), Clean(Address) is not null);
        yield return (nameof(Address2), Clean(Address2) is not null);
        yield return (nameof(Address3), Clean(Address3) is not null);
        yield return (nameof(City), Clean(City) is not null);
        yield return (nameof(State), Clean(State) is not null);
        yield return (nameof(PostalCode), Clean(PostalCode) is not null);
        yield return (nameof(Country), Clean(Country) is not null);
        yield return (nameof(DateOfBirth), DateOfBirth is not null);
    }
}
