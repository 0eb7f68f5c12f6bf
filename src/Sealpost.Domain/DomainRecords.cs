using System.Security.Cryptography;
using System.Text;

namespace Sealpost.Domain;

/// <summary>
/// The MTA-STS policy (RFC 8461 §3.2) this server publishes for every domain it hosts: the MX is this
/// host. Its id (§3.1: 1-32 letters and digits) is derived from the policy text, so it changes exactly
/// when the policy does and senders fetch it again.
/// </summary>
public sealed record HostedMtaSts(string Mode, TimeSpan MaxAge)
{
    public static HostedMtaSts Default { get; } = new("testing", TimeSpan.FromDays(7));

    public static HostedMtaSts From(Sealpost.Core.Configuration.SmtpOptions smtp) => new(smtp.MtaStsMode, TimeSpan.FromDays(smtp.MtaStsMaxAgeDays));

    public string Text(string hostname) =>
        $"version: STSv1\r\nmode: {Mode}\r\nmx: {hostname.TrimEnd('.')}\r\nmax_age: {(long)MaxAge.TotalSeconds}\r\n";

    public string Id(string hostname) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Text(hostname))))[..20];
}

/// <summary>One DNS record a mail domain should publish: its owner name, type and value, what it is for, and the zone-file line.</summary>
public sealed record DomainRecord(string Purpose, string Name, string Type, string Value)
{
    /// <summary>The record as a zone-file line; a TXT value longer than one string (255 octets) is split into several (RFC 1035 §3.3.14).</summary>
    public string ZoneLine => Type switch
    {
        "TXT" when Value.Length > 255 => $"{Name}. IN TXT ( {string.Join(" ", Value.Chunk(255).Select(c => "\"" + new string(c) + "\""))} )",
        "TXT" => $"{Name}. IN TXT \"{Value}\"",
        _ => $"{Name}. IN {Type} {Value}",
    };
}

/// <summary>
/// The DNS records a domain hosted here needs, for its DNS administrators: MX to this host, SPF
/// allowing only the MX, the DKIM key in force (RFC 6376), a DMARC policy (RFC 7489), service records
/// so clients find IMAP and submission by themselves (RFC 6186 with implicit TLS per RFC 8314 §5.1; the
/// cleartext services are declared absent with target "."), the host names Thunderbird's autoconfig
/// and Outlook's Autodiscover ask, where TLS reports (RFC 8460) about mail sent to the domain go, and
/// the MTA-STS policy (RFC 8461) this host serves for it.
/// </summary>
public static class DomainRecords
{
    public static IReadOnlyList<DomainRecord> For(string domain, string hostname, (string Name, string Value)? dkim, HostedMtaSts? mtaSts = null)
    {
        var policy = mtaSts ?? HostedMtaSts.Default;
        var d = domain.TrimEnd('.');
        var h = hostname.TrimEnd('.');
        var records = new List<DomainRecord>
        {
            new("mx", d, "MX", $"10 {h}."),
            new("spf", d, "TXT", "v=spf1 mx -all"),
            new("dmarc", "_dmarc." + d, "TXT", $"v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:postmaster@{d}"),
            new("imaps", "_imaps._tcp." + d, "SRV", $"0 1 993 {h}."),
            new("submissions", "_submissions._tcp." + d, "SRV", $"0 1 465 {h}."),
            new("imap", "_imap._tcp." + d, "SRV", "0 0 0 ."),
            new("submission", "_submission._tcp." + d, "SRV", "0 0 0 ."),
            new("autoconfig", "autoconfig." + d, "CNAME", h + "."),
            new("autodiscover", "_autodiscover._tcp." + d, "SRV", $"0 1 443 {h}."),
            new("tlsrpt", "_smtp._tls." + d, "TXT", $"v=TLSRPTv1; rua=mailto:tls-reports@{d}"),
            new("mta-sts", "_mta-sts." + d, "TXT", $"v=STSv1; id={policy.Id(h)}"),
            new("mta-sts-host", "mta-sts." + d, "CNAME", h + "."),
        };
        if (dkim is { } key)
        {
            records.Insert(2, new DomainRecord("dkim", key.Name, "TXT", key.Value));
        }

        return records;
    }
}
