using System.Buffers;

namespace IdentityReconciliation;

/// <summary>Character checks on identifiers, shared by the normaliser and the validation of <see cref="ContactPlanner"/>.</summary>
internal static class IdentifierText
{
    /// <summary>
    /// Characters that are invisible or reorder the text around them: the C0 controls, DEL and the C1 controls
    /// (<see cref="char.IsControl(char)"/>), and the bidirectional text controls: LRM U+200E, RLM U+200F, ALM U+061C, the
    /// embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069. A value holding one would be stored, shown and
    /// matched as something other than what a person reads.
    /// </summary>
    private static readonly SearchValues<char> Invisible = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0xA0).Where(c => char.IsControl((char)c)).Select(c => (char)c))
        + "\u200E\u200F\u061C\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069");

    /// <summary>
    /// Characters that show nothing at all and change no letter around them: SOFT HYPHEN U+00AD, COMBINING GRAPHEME JOINER
    /// U+034F, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, the Khmer inherent vowels U+17B4 and U+17B5, MONGOLIAN
    /// VOWEL SEPARATOR U+180E, ZERO WIDTH SPACE U+200B, WORD JOINER U+2060, the invisible operators U+2061–U+2064 and ZERO
    /// WIDTH NO-BREAK SPACE (the byte-order mark) U+FEFF. Pasted or exported with an address, one would make it a second
    /// address that reads exactly like the first. ZERO WIDTH NON-JOINER U+200C and ZERO WIDTH JOINER U+200D are not among
    /// them: scripts such as Persian and Devanagari spell words with them (IDNA2008 allows them in domain names there).
    /// </summary>
    private static readonly SearchValues<char> Blank = SearchValues.Create(
        "\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180E\u200B\u2060\u2061\u2062\u2063\u2064\u3164\uFEFF\uFFA0");

    /// <summary>Whether <paramref name="value"/> holds a control character or a bidirectional text control.</summary>
    public static bool HasInvisibleCharacter(ReadOnlySpan<char> value) => value.ContainsAny(Invisible);

    /// <summary>Whether <paramref name="value"/> holds a character that shows nothing (a zero-width space, a soft hyphen, a filler...).</summary>
    public static bool HasBlankCharacter(ReadOnlySpan<char> value) => value.ContainsAny(Blank);

    /// <summary>Whether every surrogate is part of a pair; <see cref="string.Normalize()"/> throws otherwise.</summary>
    public static bool IsValidUtf16(ReadOnlySpan<char> value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }
}
