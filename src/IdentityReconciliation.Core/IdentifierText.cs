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

    /// <summary>Whether <paramref name="value"/> holds a control character or a bidirectional text control.</summary>
    public static bool HasInvisibleCharacter(ReadOnlySpan<char> value) => value.ContainsAny(Invisible);

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
