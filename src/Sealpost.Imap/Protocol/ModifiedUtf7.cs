using System.Text;

namespace Sealpost.Imap.Protocol;

/// <summary>
/// RFC 3501 §5.1.3 mailbox names: printable ASCII stands for itself except '&amp;' ("&amp;-"); other
/// characters are UTF-16, base64 with ',' for '/' and no padding, between '&amp;' and '-'.
/// Decoding is strict (RFC 3501: a name that is not the canonical encoding is refused).
/// </summary>
public static class ModifiedUtf7
{
    public static string Encode(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        var i = 0;
        while (i < name.Length)
        {
            var c = name[i];
            if (c == '&')
            {
                sb.Append("&-");
                i++;
            }
            else if (c is >= (char)0x20 and <= (char)0x7e)
            {
                sb.Append(c);
                i++;
            }
            else
            {
                var start = i;
                while (i < name.Length && name[i] is < (char)0x20 or > (char)0x7e)
                {
                    i++;
                }

                var utf16 = Encoding.BigEndianUnicode.GetBytes(name[start..i]);
                sb.Append('&').Append(Convert.ToBase64String(utf16).TrimEnd('=').Replace('/', ',')).Append('-');
            }
        }

        return sb.ToString();
    }

    public static bool TryDecode(string text, out string name)
    {
        name = text;
        var sb = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is < (char)0x20 or > (char)0x7e)
            {
                return false; // 8-bit in a modified UTF-7 name
            }

            if (c != '&')
            {
                sb.Append(c);
                i++;
                continue;
            }

            var end = text.IndexOf('-', i + 1);
            if (end < 0)
            {
                return false;
            }

            if (end == i + 1)
            {
                sb.Append('&');
                i = end + 1;
                continue;
            }

            var b64 = text[(i + 1)..end].Replace(',', '/');
            if (b64.Any(ch => !(char.IsAsciiLetterOrDigit(ch) || ch is '+' or '/')) || b64.Length % 4 == 1)
            {
                return false;
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(b64.PadRight((b64.Length + 3) / 4 * 4, '='));
            }
            catch (FormatException)
            {
                return false;
            }

            if (bytes.Length % 2 != 0)
            {
                return false;
            }

            var decoded = Encoding.BigEndianUnicode.GetString(bytes);
            // Canonical form only: no encoded printable ASCII, and it must round-trip.
            if (decoded.Any(ch => ch is >= (char)0x20 and <= (char)0x7e) || Encode(decoded) != "&" + text[(i + 1)..end] + "-")
            {
                return false;
            }

            sb.Append(decoded);
            i = end + 1;
        }

        name = sb.ToString();
        return true;
    }
}
