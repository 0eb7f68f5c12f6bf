using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sealpost.Smtp.Authentication;

/// <summary>What SPF macros (RFC 7208 §7.2) expand from.</summary>
public sealed record SpfMacroContext(string Sender, string Domain, IPAddress Client, string Helo);

/// <summary>
/// RFC 7208 §7 macro expansion, pure: <c>%{letter[digits][r][delimiters]}</c>, <c>%%</c>, <c>%_</c>,
/// <c>%-</c>. Letters s, l, o, d, i, p, v, h (c, r and t belong to exp= only and are refused here);
/// an upper-case letter URL-encodes the result. <c>p</c> expands to "unknown" (§7.3: validating PTR
/// names costs lookups and SHOULD NOT be relied on). A malformed macro is a syntax error (permerror).
/// </summary>
public static class SpfMacros
{
    public static bool TryExpand(string text, SpfMacroContext context, out string expanded)
    {
        expanded = text;
        if (!text.Contains('%', StringComparison.Ordinal))
        {
            return true;
        }

        var sb = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '%')
            {
                sb.Append(text[i]);
                continue;
            }

            if (++i >= text.Length)
            {
                return false;
            }

            switch (text[i])
            {
                case '%': sb.Append('%'); continue;
                case '_': sb.Append(' '); continue;
                case '-': sb.Append("%20"); continue;
                case '{': break;
                default: return false;
            }

            var close = text.IndexOf('}', i);
            if (close < 0 || close == i + 1)
            {
                return false;
            }

            var body = text[(i + 1)..close];
            i = close;
            var letter = body[0];
            var value = char.ToLowerInvariant(letter) switch
            {
                's' => context.Sender,
                'l' => context.Sender.Contains('@', StringComparison.Ordinal) ? context.Sender[..context.Sender.LastIndexOf('@')] : "postmaster",
                'o' => context.Sender.Contains('@', StringComparison.Ordinal) ? context.Sender[(context.Sender.LastIndexOf('@') + 1)..] : context.Sender,
                'd' => context.Domain,
                'i' => DottedAddress(context.Client),
                'p' => "unknown",
                'v' => context.Client.AddressFamily == AddressFamily.InterNetworkV6 && !context.Client.IsIPv4MappedToIPv6 ? "ip6" : "in-addr",
                'h' => context.Helo,
                _ => null,
            };
            if (value is null)
            {
                return false;
            }

            // Transformers: digits (keep that many rightmost parts), 'r' (reverse), then delimiters.
            var j = 1;
            var digits = 0;
            var hasDigits = false;
            while (j < body.Length && char.IsAsciiDigit(body[j]))
            {
                digits = digits * 10 + (body[j] - '0');
                hasDigits = true;
                j++;
                if (digits > 128)
                {
                    return false;
                }
            }

            if (hasDigits && digits == 0)
            {
                return false; // RFC 7208 §7.1: zero is not allowed
            }

            var reverse = false;
            if (j < body.Length && body[j] is 'r' or 'R')
            {
                reverse = true;
                j++;
            }

            var delimiters = body[j..];
            if (delimiters.Any(c => ".-+,/_=".IndexOf(c) < 0))
            {
                return false;
            }

            var parts = value.Split(delimiters.Length == 0 ? ['.'] : delimiters.ToCharArray());
            if (reverse)
            {
                Array.Reverse(parts);
            }

            if (hasDigits && digits < parts.Length)
            {
                parts = parts[^digits..];
            }

            var result = string.Join('.', parts);
            sb.Append(char.IsUpper(letter) ? Uri.EscapeDataString(result) : result);
        }

        expanded = sb.ToString();
        return true;
    }

    /// <summary>RFC 7208 §7.3: IPv4 as dotted quad, IPv6 as dot-separated nibbles.</summary>
    private static string DottedAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return address.ToString();
        }

        var hex = Convert.ToHexStringLower(address.GetAddressBytes());
        return string.Join('.', hex.ToCharArray());
    }
}
