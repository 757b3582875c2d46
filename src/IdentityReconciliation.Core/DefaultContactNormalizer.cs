using System.Text;

namespace IdentityReconciliation;

/// <summary>
/// The default normalisation. Email: trimmed, put in Unicode Normalization Form C (as RFC 6530 recommends for
/// internationalised addresses, so that <c>é</c> typed as one character or as <c>e</c> and a combining accent is one
/// address), then lower-cased (invariant culture). Phone: trimmed, with spaces, tabs and <c>-</c>, <c>.</c>, <c>(</c>,
/// <c>)</c> removed; a leading <c>+</c> is kept; digits other than ASCII <c>0</c>–<c>9</c> are left in place, so that
/// validation rejects them. Empty or whitespace-only values count as absent.
/// </summary>
/// <remarks>
/// Control and bidirectional formatting characters, and characters that show nothing (a zero-width space, a soft hyphen,
/// a byte-order mark), inside a value are not removed: <see cref="ContactPlanner.Validate(string?, string?)"/> rejects
/// them, as it rejects text that is not valid UTF-16 (which cannot be normalised and is returned unchanged).
/// </remarks>
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

        var trimmed = email.Trim();
        if (!Ascii.IsValid(trimmed) && IdentifierText.IsValidUtf16(trimmed))
        {
            trimmed = trimmed.Normalize(NormalizationForm.FormC);
        }

        return trimmed.ToLowerInvariant();
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
