namespace IdentityReconciliation;

/// <summary>
/// The default normalisation. Email: trimmed and lower-cased (invariant culture). Phone: trimmed, with spaces and
/// <c>-</c>, <c>.</c>, <c>(</c>, <c>)</c> removed; a leading <c>+</c> is kept. Empty or whitespace-only values count as absent.
/// </summary>
public sealed class DefaultContactNormalizer : IContactNormalizer
{
    /// <summary>A shared instance; the type holds no state.</summary>
    public static DefaultContactNormalizer Instance { get; } = new();

    /// <inheritdoc />
    public string? NormalizeEmail(string? email)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            return null;
        }

        return email.Trim().ToLowerInvariant();
    }

    /// <inheritdoc />
    public string? NormalizePhoneNumber(string? phoneNumber)
    {
        if (string.IsNullOrWhiteSpace(phoneNumber))
        {
            return null;
        }

        var span = phoneNumber.AsSpan().Trim();
        if (span.IndexOfAny(" -.()\t") < 0)
        {
            return span.Length == phoneNumber.Length ? phoneNumber : span.ToString();
        }

        return string.Create(span.Length - CountSeparators(span), phoneNumber, static (buffer, raw) =>
        {
            var written = 0;
            foreach (var c in raw.AsSpan().Trim())
            {
                if (!IsSeparator(c))
                {
                    buffer[written++] = c;
                }
            }
        });
    }

    private static int CountSeparators(ReadOnlySpan<char> span)
    {
        var count = 0;
        foreach (var c in span)
        {
            if (IsSeparator(c))
            {
                count++;
            }
        }

        return count;
    }

    private static bool IsSeparator(char c) => c is ' ' or '\t' or '-' or '.' or '(' or ')';
}
