namespace Sealpost.Domain;

/// <summary>One DNS record a mail domain should publish, in zone-file form, and what it is for.</summary>
public sealed record DomainRecord(string Purpose, string ZoneLine);

/// <summary>
/// The DNS records a domain hosted here needs, written as zone-file lines for its DNS administrators:
/// MX to this host, SPF allowing only the MX, the DKIM key in force (RFC 6376), a DMARC policy
/// (RFC 7489), and service records so clients find IMAP and submission by themselves (RFC 6186 with
/// implicit TLS per RFC 8314 §5.1; the cleartext services are declared absent with target "."),
/// the host names Thunderbird's autoconfig and Outlook's Autodiscover ask, and where TLS reports
/// (RFC 8460) about mail sent to the domain should go.
/// </summary>
public static class DomainRecords
{
    public static IReadOnlyList<DomainRecord> For(string domain, string hostname, string? dkimZoneLine)
    {
        var d = domain.TrimEnd('.');
        var h = hostname.TrimEnd('.');
        var records = new List<DomainRecord>
        {
            new("mx", $"{d}. IN MX 10 {h}."),
            new("spf", $"{d}. IN TXT \"v=spf1 mx -all\""),
            new("dmarc", $"_dmarc.{d}. IN TXT \"v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:postmaster@{d}\""),
            new("imaps", $"_imaps._tcp.{d}. IN SRV 0 1 993 {h}."),
            new("submissions", $"_submissions._tcp.{d}. IN SRV 0 1 465 {h}."),
            new("imap", $"_imap._tcp.{d}. IN SRV 0 0 0 ."),
            new("submission", $"_submission._tcp.{d}. IN SRV 0 0 0 ."),
            new("autoconfig", $"autoconfig.{d}. IN CNAME {h}."),
            new("autodiscover", $"_autodiscover._tcp.{d}. IN SRV 0 1 443 {h}."),
            new("tlsrpt", $"_smtp._tls.{d}. IN TXT \"v=TLSRPTv1; rua=mailto:tls-reports@{d}\""),
        };
        if (dkimZoneLine is not null)
        {
            records.Insert(2, new DomainRecord("dkim", dkimZoneLine));
        }

        return records;
    }
}
