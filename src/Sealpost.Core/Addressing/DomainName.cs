using System.Globalization;
using System.Text;

namespace Sealpost.Core.Addressing;

/// <summary>
/// A mail domain in its canonical form: the lower-case A-label (IDNA 2008 / UTS #46 mapping as
/// implemented by <see cref="IdnMapping"/>). Comparison is on that form, so "BÜcher.example" and
/// "xn--bcher-kva.example" are the same domain (RFC 5321 §2.4: domains are case-insensitive;
/// RFC 6531 §3.2: U-labels and A-labels are equivalent).
/// </summary>
public sealed class DomainName : IEquatable<DomainName>
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    /// <summary>The ASCII (A-label) form, lower case. This is the comparison key.</summary>
    public string Ascii { get; }

    /// <summary>The Unicode (U-label) form, for display.</summary>
    public string Unicode { get; }

    private DomainName(string ascii, string unicode)
    {
        Ascii = ascii;
        Unicode = unicode;
    }

    public static DomainName Parse(string text) =>
        TryParse(text, out var domain, out var error) ? domain : throw SealpostException.Invalid(error);

    public static bool TryParse(string? text, out DomainName domain, out string error)
    {
        domain = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "domain is empty";
            return false;
        }

        var candidate = text.Trim();
        if (candidate.EndsWith('.'))
        {
            candidate = candidate[..^1]; // a trailing root dot is allowed in DNS but not kept
        }

        if (candidate.StartsWith('[') || candidate.Length == 0)
        {
            error = $"'{Printable(text)}' is not a domain name (address literals are not mail domains here)";
            return false;
        }

        if (candidate.Length > 253 && candidate.All(char.IsAscii))
        {
            error = "domain name is longer than 253 characters";
            return false;
        }

        string ascii;
        try
        {
            ascii = Idn.GetAscii(candidate.Normalize(NormalizationForm.FormC)).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            error = $"'{Printable(text)}' is not a valid domain name";
            return false;
        }

        // RFC 1035 §2.3.4 / RFC 5321 §4.5.3.1.2: 255 octets in all, 63 per label.
        if (ascii.Length > 253)
        {
            error = "domain name is longer than 253 characters";
            return false;
        }

        var labels = ascii.Split('.');
        if (labels.Length < 2)
        {
            error = $"'{Printable(text)}' needs at least two labels (e.g. example.org)";
            return false;
        }

        foreach (var label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' ||
                !label.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
            {
                error = $"'{Printable(text)}' is not a valid domain name";
                return false;
            }
        }

        if (labels[^1].All(char.IsAsciiDigit))
        {
            error = $"'{Printable(text)}' has an all-numeric top-level label";
            return false;
        }

        string unicode;
        try
        {
            unicode = Idn.GetUnicode(ascii);
        }
        catch (ArgumentException)
        {
            error = $"'{Printable(text)}' is not a valid domain name";
            return false;
        }

        domain = new DomainName(ascii, unicode);
        error = "";
        return true;
    }

    /// <summary>Echo user input in an error message without control characters.</summary>
    public static string Printable(string text)
    {
        var clipped = text.Length > 80 ? text[..80] + "…" : text;
        return new string(clipped.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }

    public bool Equals(DomainName? other) => other is not null && other.Ascii == Ascii;

    public override bool Equals(object? obj) => Equals(obj as DomainName);

    public override int GetHashCode() => Ascii.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => Ascii;
}
