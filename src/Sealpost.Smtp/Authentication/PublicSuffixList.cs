using System.Globalization;

namespace Sealpost.Smtp.Authentication;

/// <summary>
/// The Public Suffix List (publicsuffix.org; Debian package <c>publicsuffix</c>) and its algorithm:
/// the longest matching rule wins, an exception rule (!) beats it, a wildcard (*) matches one label,
/// and with no match the rule is "*". DMARC (RFC 7489 §3.2) takes the organisational domain as the
/// public suffix plus one label. Pure once loaded; rules are kept in their ASCII (punycode) form.
/// </summary>
public sealed class PublicSuffixList
{
    public const string DebianPath = "/usr/share/publicsuffix/public_suffix_list.dat";

    private readonly HashSet<string> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wildcards = new(StringComparer.Ordinal);
    private readonly HashSet<string> _exceptions = new(StringComparer.Ordinal);

    public PublicSuffixList(IEnumerable<string> lines)
    {
        var idn = new IdnMapping();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            line = line.Split(' ', '\t')[0];
            var exception = line.StartsWith('!');
            var wildcard = line.StartsWith("*.", StringComparison.Ordinal);
            var name = exception ? line[1..] : wildcard ? line[2..] : line;
            try
            {
                name = idn.GetAscii(name).ToLowerInvariant();
            }
            catch (ArgumentException)
            {
                continue;
            }

            (exception ? _exceptions : wildcard ? _wildcards : _rules).Add(name);
        }
    }

    public int Count => _rules.Count + _wildcards.Count + _exceptions.Count;

    /// <summary>The list at <paramref name="path"/>, or null if there is no file there.</summary>
    public static PublicSuffixList? Load(string path) => File.Exists(path) ? new PublicSuffixList(File.ReadLines(path)) : null;

    /// <summary>The public suffix of a domain (lower-case ASCII form).</summary>
    public string PublicSuffix(string domain)
    {
        var labels = domain.TrimEnd('.').ToLowerInvariant().Split('.');
        var suffixLength = 1; // the implicit "*" rule
        for (var take = labels.Length; take >= 1; take--)
        {
            var candidate = string.Join('.', labels[^take..]);
            if (_exceptions.Contains(candidate))
            {
                suffixLength = take - 1; // an exception rule: its public suffix is the rule minus its leftmost label
                break;
            }

            if (_rules.Contains(candidate) || (take >= 2 && _wildcards.Contains(string.Join('.', labels[^(take - 1)..]))))
            {
                suffixLength = Math.Max(suffixLength, take);
                break; // longest first: the first match is the longest
            }
        }

        return string.Join('.', labels[^Math.Min(suffixLength, labels.Length)..]);
    }

    /// <summary>RFC 7489 §3.2: the public suffix plus one label; a domain that is itself a public suffix is its own.</summary>
    public string OrganisationalDomain(string domain)
    {
        var labels = domain.TrimEnd('.').ToLowerInvariant().Split('.');
        var suffix = PublicSuffix(domain).Split('.').Length;
        return string.Join('.', labels[^Math.Min(suffix + 1, labels.Length)..]);
    }
}
