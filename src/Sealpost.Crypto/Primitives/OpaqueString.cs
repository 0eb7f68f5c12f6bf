using System.Globalization;
using System.Text;

namespace Sealpost.Crypto.Primitives;

/// <summary>
/// The PRECIS OpaqueString profile for passwords (RFC 8265 §4.2), applied before a password is
/// hashed, so that one password typed on two keyboards or sent by two clients (composed é or e plus
/// a combining accent, a no-break space) is the same password.
/// <list type="number">
/// <item>Additional mapping (§4.2.1): non-ASCII space characters (Zs) become U+0020.</item>
/// <item>No width or case mapping; normalisation form C.</item>
/// <item>Base class FreeformClass (RFC 8264 §4.3): letters, marks, digits, symbols, punctuation and
/// spaces are allowed; controls, format characters (default-ignorable code points among them),
/// private use, unassigned code points and noncharacters, line and paragraph separators, unpaired
/// surrogates and old Hangul jamo are not (§9.10-9.18).</item>
/// <item>An empty result is disallowed.</item>
/// </list>
/// </summary>
public static class OpaqueString
{
    /// <summary>The prepared password, or null with <paramref name="reason"/> if the profile disallows it.</summary>
    public static string? Prepare(string password, out string reason)
    {
        reason = "";
        var mapped = new StringBuilder(password.Length);
        foreach (var c in password)
        {
            mapped.Append(c > 0x7F && CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.SpaceSeparator ? ' ' : c);
        }

        string normalised;
        try
        {
            normalised = mapped.ToString().Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            reason = "it contains an unpaired surrogate (not valid Unicode)";
            return null;
        }

        if (normalised.Length == 0)
        {
            reason = "it is empty";
            return null;
        }

        for (var i = 0; i < normalised.Length;)
        {
            var rune = Rune.GetRuneAt(normalised, i); // normalised text is well-formed UTF-16
            if (Disallowed(rune) is { } why)
            {
                reason = $"it contains {why} (U+{rune.Value:X4})";
                return null;
            }

            i += rune.Utf16SequenceLength;
        }

        return normalised;
    }

    /// <summary>The prepared password; throws <see cref="Core.ErrorKind.InvalidInput"/> saying why it is disallowed.</summary>
    public static string Enforce(string password) =>
        Prepare(password, out var reason) ?? throw Core.SealpostException.Invalid($"password is not allowed: {reason}");

    private static string? Disallowed(Rune rune)
    {
        var v = rune.Value;
        if ((v & 0xFFFE) == 0xFFFE || v is >= 0xFDD0 and <= 0xFDEF)
        {
            return "a noncharacter";
        }

        // OldHangulJamo (§9.9): conjoining jamo, written as precomposed syllables instead.
        if (v is >= 0x1100 and <= 0x11FF or >= 0xA960 and <= 0xA97F or >= 0xD7B0 and <= 0xD7FF)
        {
            return "an old Hangul jamo";
        }

        // Default_Ignorable_Code_Point outside the format category (PrecisIgnorableProperties, §9.13).
        if (v is 0x034F or 0x115F or 0x1160 or 0x17B4 or 0x17B5 or 0x3164 or 0xFFA0
            or >= 0x180B and <= 0x180F or >= 0xFE00 and <= 0xFE0F or >= 0xE0000 and <= 0xE0FFF)
        {
            return "an invisible (default-ignorable) character";
        }

        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Control => "a control character",
            UnicodeCategory.Format => "an invisible formatting character",
            UnicodeCategory.PrivateUse => "a private-use character",
            UnicodeCategory.OtherNotAssigned => "an unassigned code point",
            UnicodeCategory.Surrogate => "an unpaired surrogate",
            UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => "a line or paragraph separator",
            _ => null,
        };
    }
}
