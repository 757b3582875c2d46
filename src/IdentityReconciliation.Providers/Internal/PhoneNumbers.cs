namespace IdentityReconciliation.Providers.Internal;

/// <summary>Checks and normalises international (E.164) phone numbers without ever echoing them in a message.</summary>
internal static class PhoneNumbers
{
    /// <summary>
    /// Removes spaces, dashes, dots and brackets and checks what remains is an E.164 number: an optional (or, with
    /// <paramref name="requirePlus"/>, mandatory) <c>+</c>, then 8 to 15 digits not starting with 0.
    /// </summary>
    /// <returns>The digits only, without <c>+</c>.</returns>
    /// <exception cref="ArgumentException">The number is not E.164.</exception>
    public static string ToE164Digits(string phoneNumber, bool requirePlus, string paramName)
    {
        var digits = new char[phoneNumber.Length];
        var count = 0;
        var sawPlus = false;
        foreach (var c in phoneNumber.AsSpan().Trim())
        {
            if (c is ' ' or '-' or '.' or '(' or ')')
            {
                continue;
            }

            if (c == '+' && count == 0 && !sawPlus)
            {
                sawPlus = true;
                continue;
            }

            if (!char.IsAsciiDigit(c))
            {
                throw new ArgumentException(
                    "The phone number must be in international E.164 form, e.g. +15555551212: it contains a character other than digits and separators.",
                    paramName);
            }

            digits[count++] = c;
        }

        if (requirePlus && !sawPlus)
        {
            throw new ArgumentException(
                "The phone number must be in international E.164 form starting with '+' and the country code, e.g. +31612345678.",
                paramName);
        }

        if (count is < 8 or > 15 || digits[0] == '0')
        {
            throw new ArgumentException(
                "The phone number must be in international E.164 form: a country code (not starting with 0) and 8 to 15 digits in all, e.g. +15555551212.",
                paramName);
        }

        return new string(digits, 0, count);
    }
}
