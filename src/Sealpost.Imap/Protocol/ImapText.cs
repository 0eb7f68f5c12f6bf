using System.Text;

namespace Sealpost.Imap.Protocol;

/// <summary>How strings go out (RFC 9051 §4.3): quoted when they can be, a literal when they cannot.</summary>
public static class ImapText
{
    /// <summary>A string: quoted if it has no CR, LF or NUL (and, unless <paramref name="utf8"/>, no 8-bit), otherwise a literal.</summary>
    public static string String(string value, bool utf8)
    {
        if (CanQuote(value, utf8))
        {
            return Quote(value);
        }

        return "{" + Encoding.UTF8.GetByteCount(value) + "}\r\n" + value;
    }

    public static string NString(string? value, bool utf8) => value is null ? "NIL" : String(value, utf8);

    /// <summary>An astring: as an atom when it is one, otherwise as a string.</summary>
    public static string AString(string value, bool utf8)
    {
        if (value.Length > 0 && value.Length < 256 && value.All(c => c < 0x80 && ImapParser.IsAtomChar((byte)c, allowBracket: true)) && !value.Equals("NIL", StringComparison.OrdinalIgnoreCase))
        {
            return value;
        }

        return String(value, utf8);
    }

    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append('"').ToString();
    }

    private static bool CanQuote(string value, bool utf8) =>
        value.Length < 4096 && value.All(c => c is not ('\r' or '\n' or '\0') && (utf8 || c < 0x80));

    /// <summary>A mailbox name as the client expects it: UTF-8 after ENABLE UTF8=ACCEPT, modified UTF-7 otherwise.</summary>
    public static string Mailbox(string name, bool utf8) => AString(utf8 ? name : ModifiedUtf7.Encode(name), utf8);
}
