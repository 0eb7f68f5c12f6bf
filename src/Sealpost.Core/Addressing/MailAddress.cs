using System.Text;

namespace Sealpost.Core.Addressing;

/// <summary>
/// A mailbox address (local-part@domain) in canonical form.
/// <list type="bullet">
/// <item>The domain is compared in its A-label form (<see cref="DomainName"/>).</item>
/// <item>The local part is NFC-normalised (RFC 6531 §3.3 recommends NFC for SMTPUTF8) and compared
/// case-insensitively. RFC 5321 §2.4 lets a server treat local parts case-sensitively; every
/// mainstream server folds case and users expect it, so we do too.</item>
/// <item>UTF-8 local parts are allowed (RFC 6531 §3.3 extends atext with UTF8-non-ascii).</item>
/// </list>
/// </summary>
public sealed class MailAddress : IEquatable<MailAddress>
{
    /// <summary>RFC 5321 §4.5.3.1.1: 64 octets for the local part.</summary>
    public const int MaxLocalPartOctets = 64;

    /// <summary>RFC 5321 §4.5.3.1.3 path limit (256 including the angle brackets) minus the brackets.</summary>
    public const int MaxAddressOctets = 254;

    /// <summary>The local part as given, NFC-normalised (case preserved for display).</summary>
    public string LocalPart { get; }

    public DomainName Domain { get; }

    /// <summary>The comparison key: folded local part @ A-label domain. Unique per mailbox.</summary>
    public string Key { get; }

    private MailAddress(string localPart, DomainName domain)
    {
        LocalPart = localPart;
        Domain = domain;
        Key = FoldLocalPart(localPart) + "@" + domain.Ascii;
    }

    public static MailAddress Parse(string text) =>
        TryParse(text, out var address, out var error) ? address : throw SealpostException.Invalid(error);

    public static bool TryParse(string? text, out MailAddress address, out string error)
    {
        address = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "address is empty";
            return false;
        }

        var trimmed = text.Trim();
        if (trimmed.Length >= 2 && trimmed[0] == '<' && trimmed[^1] == '>')
        {
            trimmed = trimmed[1..^1];
        }

        var at = trimmed.LastIndexOf('@');
        if (at <= 0 || at == trimmed.Length - 1)
        {
            error = $"'{DomainName.Printable(text)}' is not an address of the form local-part@domain";
            return false;
        }

        var local = trimmed[..at];
        if (!TryNormaliseLocalPart(local, out var normalised, out error))
        {
            error = $"'{DomainName.Printable(text)}': {error}";
            return false;
        }

        if (!DomainName.TryParse(trimmed[(at + 1)..], out var domain, out error))
        {
            return false;
        }

        if (Encoding.UTF8.GetByteCount(normalised) + 1 + domain.Ascii.Length > MaxAddressOctets)
        {
            error = $"address is longer than {MaxAddressOctets} octets";
            return false;
        }

        address = new MailAddress(normalised, domain);
        error = "";
        return true;
    }

    /// <summary>Builds an address from a validated local part and domain.</summary>
    public static MailAddress Create(string localPart, DomainName domain) =>
        TryNormaliseLocalPart(localPart, out var normalised, out var error)
            ? new MailAddress(normalised, domain)
            : throw SealpostException.Invalid(error);

    private static bool TryNormaliseLocalPart(string local, out string normalised, out string error)
    {
        normalised = "";
        if (!local.IsNormalized(NormalizationForm.FormC))
        {
            local = local.Normalize(NormalizationForm.FormC);
        }

        if (Encoding.UTF8.GetByteCount(local) > MaxLocalPartOctets)
        {
            error = $"local part is longer than {MaxLocalPartOctets} octets";
            return false;
        }

        if (local.Length >= 2 && local[0] == '"' && local[^1] == '"')
        {
            // RFC 5321 §4.1.2 Quoted-string: qtextSMTP or quoted-pairSMTP; we keep it quoted.
            var inner = local[1..^1];
            for (var i = 0; i < inner.Length; i++)
            {
                var c = inner[i];
                if (c == '\\')
                {
                    if (++i >= inner.Length || inner[i] < 32 || inner[i] > 126)
                    {
                        error = "bad escape in quoted local part";
                        return false;
                    }
                }
                else if (c == '"' || char.IsControl(c))
                {
                    error = "quoted local part contains a character that must be escaped";
                    return false;
                }
            }

            normalised = local;
            error = "";
            return true;
        }

        // Dot-string = Atom *("." Atom)  (RFC 5321 §4.1.2; RFC 6531 §3.3 adds UTF8-non-ascii)
        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            error = "local part has a leading, trailing or double dot";
            return false;
        }

        foreach (var rune in local.EnumerateRunes())
        {
            if (!IsAtext(rune) && rune.Value != '.')
            {
                error = rune.Value < 32 || rune.Value == 127
                    ? "local part contains a control character"
                    : $"local part contains '{rune}' which needs quoting";
                return false;
            }
        }

        normalised = local;
        error = "";
        return true;
    }

    private static bool IsAtext(Rune rune)
    {
        var v = rune.Value;
        if (v >= 0x80)
        {
            return !Rune.IsControl(rune) && !Rune.IsWhiteSpace(rune);
        }

        return v is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9'
            || "!#$%&'*+-/=?^_`{|}~".Contains((char)v);
    }

    private static string FoldLocalPart(string local) => local.ToLowerInvariant();

    public bool Equals(MailAddress? other) => other is not null && other.Key == Key;

    public override bool Equals(object? obj) => Equals(obj as MailAddress);

    public override int GetHashCode() => Key.GetHashCode(StringComparison.Ordinal);

    /// <summary>The address for display and for headers: local part as given, Unicode domain.</summary>
    public override string ToString() => LocalPart + "@" + Domain.Unicode;

    /// <summary>The address for SMTP envelopes to peers without SMTPUTF8: A-label domain.</summary>
    public string ToAsciiDomainForm() => LocalPart + "@" + Domain.Ascii;
}
