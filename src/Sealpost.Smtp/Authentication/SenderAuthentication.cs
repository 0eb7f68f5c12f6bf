using System.Net;
using System.Net.Sockets;
using System.Text;
using DnsClient;
using DnsClient.Protocol;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;

namespace Sealpost.Smtp.Authentication;

/// <summary>The DNS answers sender authentication needs; a failure to get an answer is <see cref="DnsUnavailableException"/>.</summary>
public interface ISenderDns
{
    Task<IReadOnlyList<string>> TxtAsync(string name, CancellationToken ct);
    Task<IReadOnlyList<IPAddress>> AddressesAsync(string name, CancellationToken ct);
    Task<IReadOnlyList<string>> MxAsync(string name, CancellationToken ct);
}

public sealed class DnsUnavailableException(string message) : Exception(message);

/// <summary>DNS through DnsClient, pointed at configured servers (tests: a dnsmasq on loopback).</summary>
public sealed class SenderDns : ISenderDns
{
    private readonly LookupClient _client;

    public SenderDns(IReadOnlyList<IPEndPoint>? servers)
    {
        var options = servers is { Count: > 0 } ? new LookupClientOptions(servers.ToArray()) : new LookupClientOptions();
        options.Timeout = TimeSpan.FromSeconds(2);
        options.Retries = 1;
        options.UseCache = true;
        options.ThrowDnsErrors = false;
        _client = new LookupClient(options);
    }

    public async Task<IReadOnlyList<string>> TxtAsync(string name, CancellationToken ct) =>
        (await QueryAsync(name, QueryType.TXT, ct)).Answers.TxtRecords().Select(t => string.Concat(t.Text)).ToList();

    public async Task<IReadOnlyList<IPAddress>> AddressesAsync(string name, CancellationToken ct)
    {
        var a = await QueryAsync(name, QueryType.A, ct);
        var aaaa = await QueryAsync(name, QueryType.AAAA, ct);
        return [.. a.Answers.ARecords().Select(r => r.Address), .. aaaa.Answers.AaaaRecords().Select(r => r.Address)];
    }

    public async Task<IReadOnlyList<string>> MxAsync(string name, CancellationToken ct) =>
        (await QueryAsync(name, QueryType.MX, ct)).Answers.MxRecords().OrderBy(m => m.Preference).Select(m => m.Exchange.Value.TrimEnd('.')).ToList();

    private async Task<IDnsQueryResponse> QueryAsync(string name, QueryType type, CancellationToken ct)
    {
        try
        {
            var response = await _client.QueryAsync(name, type, QueryClass.IN, ct);
            if (response.HasError && response.Header.ResponseCode != DnsHeaderResponseCode.NotExistentDomain)
            {
                throw new DnsUnavailableException(response.ErrorMessage);
            }

            return response;
        }
        catch (DnsResponseException ex)
        {
            throw new DnsUnavailableException(ex.Message);
        }
    }
}

/// <summary>SPF (RFC 7208 §4): check_host over ip4/ip6/a/mx/include/exists/all and redirect, with the 10-lookup limit.</summary>
public sealed class SpfEvaluator(ISenderDns dns)
{
    public async Task<string> CheckHostAsync(IPAddress ip, string domain, CancellationToken ct, string? sender = null, string? helo = null)
    {
        var lookups = 0;
        var macroSender = sender is { Length: > 0 } ? sender : "postmaster@" + domain; // RFC 7208 §4.3: empty sender is postmaster@helo
        try
        {
            return await EvaluateAsync(ip, domain, 0);
        }
        catch (DnsUnavailableException)
        {
            return "temperror";
        }
        catch (LimitException)
        {
            return "permerror"; // RFC 7208 §4.6.4: more than 10 DNS-querying terms
        }

        async Task<string> EvaluateAsync(IPAddress client, string name, int depth)
        {
            if (depth > 10)
            {
                return "permerror";
            }

            var records = (await dns.TxtAsync(name, ct)).Where(t => t.Equals("v=spf1", StringComparison.OrdinalIgnoreCase) || t.StartsWith("v=spf1 ", StringComparison.OrdinalIgnoreCase)).ToList();
            if (records.Count == 0)
            {
                return "none";
            }

            if (records.Count > 1)
            {
                return "permerror"; // RFC 7208 §4.5
            }

            string? redirect = null;
            var macros = new SpfMacroContext(macroSender, name, client, helo ?? domain);
            foreach (var rawTerm in records[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
            {
                if (rawTerm.StartsWith("exp=", StringComparison.OrdinalIgnoreCase))
                {
                    continue; // explanations are for rejections we do not word from the sender's DNS
                }

                // RFC 7208 §7: macros in domain-specs expand before the term is evaluated.
                if (!SpfMacros.TryExpand(rawTerm, macros, out var term))
                {
                    return "permerror";
                }

                if (term.StartsWith("redirect=", StringComparison.OrdinalIgnoreCase))
                {
                    redirect = term[9..];
                    continue;
                }

                if (term.Contains('=', StringComparison.Ordinal))
                {
                    continue; // exp= and unknown modifiers
                }

                var qualifier = term[0] is '+' or '-' or '~' or '?' ? term[0] : '+';
                var mechanism = term[0] is '+' or '-' or '~' or '?' ? term[1..] : term;
                var (name2, cidr4, cidr6) = Split(mechanism, name);
                bool match;
                switch (Word(mechanism))
                {
                    case "all":
                        match = true;
                        break;
                    case "ip4":
                    case "ip6":
                        match = Cidr(client, mechanism[4..]);
                        break;
                    case "a":
                        Count();
                        match = (await dns.AddressesAsync(name2, ct)).Any(a => InPrefix(client, a, cidr4, cidr6));
                        break;
                    case "mx":
                        Count();
                        match = false;
                        foreach (var mx in (await dns.MxAsync(name2, ct)).Take(10))
                        {
                            match |= (await dns.AddressesAsync(mx, ct)).Any(a => InPrefix(client, a, cidr4, cidr6));
                        }

                        break;
                    case "include":
                        Count();
                        var included = await EvaluateAsync(client, mechanism[8..], depth + 1);
                        if (included is "temperror" or "permerror")
                        {
                            return included;
                        }

                        if (included == "none")
                        {
                            return "permerror";
                        }

                        match = included == "pass";
                        break;
                    case "exists":
                        Count();
                        match = (await dns.AddressesAsync(mechanism[7..], ct)).Count > 0;
                        break;
                    case "ptr":
                        Count();
                        match = false; // RFC 7208 §5.5: SHOULD NOT be used; we never match it
                        break;
                    default:
                        return "permerror";
                }

                if (match)
                {
                    return qualifier switch { '-' => "fail", '~' => "softfail", '?' => "neutral", _ => "pass" };
                }
            }

            if (redirect is not null)
            {
                Count();
                var result = await EvaluateAsync(client, redirect, depth + 1);
                return result == "none" ? "permerror" : result;
            }

            return "neutral";
        }

        void Count()
        {
            if (++lookups > 10)
            {
                throw new LimitException();
            }
        }
    }

    private sealed class LimitException : Exception;

    private static string Word(string mechanism) => mechanism.Split(':', '/')[0].ToLowerInvariant();

    private static (string Domain, int Cidr4, int Cidr6) Split(string mechanism, string current)
    {
        var cidr4 = 32;
        var cidr6 = 128;
        var rest = mechanism;
        var slash = rest.IndexOf('/');
        if (slash >= 0 && !rest.StartsWith("ip", StringComparison.OrdinalIgnoreCase))
        {
            var parts = rest[(slash + 1)..].Split('/');
            _ = int.TryParse(parts[0], out cidr4);
            if (parts.Length > 2)
            {
                _ = int.TryParse(parts[2], out cidr6);
            }

            rest = rest[..slash];
        }

        var colon = rest.IndexOf(':');
        return (colon >= 0 ? rest[(colon + 1)..] : current, cidr4, cidr6);
    }

    private static bool Cidr(IPAddress client, string spec)
    {
        var slash = spec.IndexOf('/');
        if (!IPAddress.TryParse(slash >= 0 ? spec[..slash] : spec, out var network))
        {
            return false;
        }

        var bits = slash >= 0 && int.TryParse(spec[(slash + 1)..], out var b) ? b : network.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        return InPrefix(client, network, bits, bits);
    }

    private static bool InPrefix(IPAddress client, IPAddress network, int bits4, int bits6)
    {
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        if (client.AddressFamily != network.AddressFamily)
        {
            return false;
        }

        var bits = network.AddressFamily == AddressFamily.InterNetwork ? bits4 : bits6;
        var a = client.GetAddressBytes();
        var n = network.GetAddressBytes();
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (n[i] & mask))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>DKIM public keys from DNS (RFC 6376 §3.6.2), for MimeKit's verifier.</summary>
public sealed class DnsDkimKeyLocator(ISenderDns dns) : DkimPublicKeyLocatorBase
{
    public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
        LocatePublicKeyAsync(methods, domain, selector, cancellationToken).GetAwaiter().GetResult();

    public override async Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default)
    {
        var record = (await dns.TxtAsync($"{selector}._domainkey.{domain}", cancellationToken)).FirstOrDefault(t => t.Contains("p=", StringComparison.Ordinal))
            ?? throw new ParseException("no DKIM key record", 0, 0);
        return GetPublicKey(record);
    }
}

/// <summary>The three verdicts and what they were about, ready for an Authentication-Results header (RFC 8601).</summary>
public sealed record AuthenticationVerdict(string Spf, string MailFromDomain, string Dkim, string? DkimDomain, string Dmarc, string? FromDomain, string? DmarcPolicy)
{
    public string Header(string authservId) =>
        $"Authentication-Results: {authservId};\r\n\tspf={Spf} smtp.mailfrom={MailFromDomain};\r\n\tdkim={Dkim}{(DkimDomain is null ? "" : " header.d=" + DkimDomain)};\r\n\tdmarc={Dmarc}{(FromDomain is null ? "" : " header.from=" + FromDomain)}\r\n";
}

/// <summary>SPF, DKIM and DMARC (RFC 7489 §3.1, relaxed or strict alignment) for one inbound message.</summary>
public sealed class SenderAuthenticator(ISenderDns dns, PublicSuffixList? suffixes = null)
{
    public async Task<AuthenticationVerdict> EvaluateAsync(IPAddress client, string helo, string mailFrom, byte[] message, CancellationToken ct)
    {
        var mailFromDomain = mailFrom.Contains('@', StringComparison.Ordinal) ? mailFrom[(mailFrom.LastIndexOf('@') + 1)..].ToLowerInvariant() : helo.ToLowerInvariant();
        var spf = await new SpfEvaluator(dns).CheckHostAsync(client, mailFromDomain, ct, mailFrom, helo);

        MimeMessage? parsed = null;
        try
        {
            // Persistent: the parts refer to the received octets instead of copying them (a 40 MB
            // attachment would otherwise be held twice while DKIM is checked).
            parsed = await MimeMessage.LoadAsync(ParserOptions.Default, new MemoryStream(message, writable: false), persistent: true, ct);
        }
        catch (FormatException)
        {
        }

        var dkim = "none";
        string? dkimDomain = null;
        if (parsed is not null)
        {
            var verifier = new DkimVerifier(new DnsDkimKeyLocator(dns));
            foreach (var header in parsed.Headers.Where(h => h.Id == HeaderId.DkimSignature))
            {
                var d = Tag(header.Value, "d");
                try
                {
                    if (await verifier.VerifyAsync(parsed, header, ct))
                    {
                        (dkim, dkimDomain) = ("pass", d);
                        break;
                    }

                    (dkim, dkimDomain) = ("fail", d);
                }
                catch (Exception ex) when (ex is FormatException or ParseException or NotSupportedException or DnsUnavailableException or ArgumentException or InvalidOperationException)
                {
                    (dkim, dkimDomain) = (ex is DnsUnavailableException ? "temperror" : "permerror", d);
                }
            }
        }

        var fromDomain = parsed?.From.Mailboxes.FirstOrDefault()?.Domain?.ToLowerInvariant();
        var (dmarc, policy) = await DmarcAsync(fromDomain, spf, mailFromDomain, dkim, dkimDomain, ct);
        return new AuthenticationVerdict(spf, mailFromDomain, dkim, dkimDomain, dmarc, fromDomain, policy);
    }

    private async Task<(string Result, string? Policy)> DmarcAsync(string? fromDomain, string spf, string mailFromDomain, string dkim, string? dkimDomain, CancellationToken ct)
    {
        if (fromDomain is null)
        {
            return ("none", null);
        }

        IReadOnlyList<string> records;
        try
        {
            records = await dns.TxtAsync("_dmarc." + fromDomain, ct);
            var record = records.FirstOrDefault(r => r.StartsWith("v=DMARC1", StringComparison.OrdinalIgnoreCase));
            if (record is null && Organisational(fromDomain) is var org && org != fromDomain)
            {
                record = (await dns.TxtAsync("_dmarc." + org, ct)).FirstOrDefault(r => r.StartsWith("v=DMARC1", StringComparison.OrdinalIgnoreCase));
            }

            if (record is null)
            {
                return ("none", null);
            }

            var policy = Tag(record, "p")?.ToLowerInvariant() ?? "none";
            var strictDkim = Tag(record, "adkim")?.Equals("s", StringComparison.OrdinalIgnoreCase) == true;
            var strictSpf = Tag(record, "aspf")?.Equals("s", StringComparison.OrdinalIgnoreCase) == true;
            var aligned = (spf == "pass" && Aligned(mailFromDomain, fromDomain, strictSpf))
                          || (dkim == "pass" && dkimDomain is not null && Aligned(dkimDomain.ToLowerInvariant(), fromDomain, strictDkim));
            return (aligned ? "pass" : "fail", policy);
        }
        catch (DnsUnavailableException)
        {
            return ("temperror", null);
        }
    }

    private bool Aligned(string a, string b, bool strict) => strict ? a == b : Organisational(a) == Organisational(b);

    /// <summary>RFC 7489 §3.2 organisational domain by the Public Suffix List; without a list, the last two labels.</summary>
    private string Organisational(string domain)
    {
        if (suffixes is not null)
        {
            return suffixes.OrganisationalDomain(domain);
        }

        var labels = domain.Split('.');
        return labels.Length <= 2 ? domain : string.Join('.', labels[^2..]);
    }

    private static string? Tag(string record, string name)
    {
        foreach (var part in record.Split(';'))
        {
            var eq = part.IndexOf('=');
            if (eq > 0 && part[..eq].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return part[(eq + 1)..].Trim();
            }
        }

        return null;
    }

    /// <summary>Removes Authentication-Results fields that claim our authserv-id (RFC 8601 §5): a sender must not forge our verdict.</summary>
    public static byte[] RemoveOurResults(byte[] message, string authservId)
    {
        var headerEnd = (int)Sealpost.Mime.MessageAnalyzer.FindBodyStart(message, 0, message.Length);
        var header = Encoding.UTF8.GetString(message, 0, headerEnd);
        var fields = new List<string>();
        foreach (var line in header.Split("\r\n"))
        {
            if (line.Length > 0 && (line[0] == ' ' || line[0] == '\t') && fields.Count > 0)
            {
                fields[^1] += "\r\n" + line;
            }
            else
            {
                fields.Add(line);
            }
        }

        var kept = fields.Where(f => !(f.StartsWith("Authentication-Results:", StringComparison.OrdinalIgnoreCase)
            && f["Authentication-Results:".Length..].TrimStart().StartsWith(authservId, StringComparison.OrdinalIgnoreCase))).ToList();
        if (kept.Count == fields.Count)
        {
            return message;
        }

        return [.. Encoding.UTF8.GetBytes(string.Join("\r\n", kept)), .. message.AsSpan(headerEnd)];
    }
}
