using DnsClient;
using DnsClient.Protocol;
using Sealpost.Domain;

namespace Sealpost.Delivery;

public enum RecordState
{
    /// <summary>DNS has it as it should be (or, for a policy record, a policy of the domain's own).</summary>
    Ok,

    /// <summary>DNS has nothing of it.</summary>
    Missing,

    /// <summary>DNS has another value where this one belongs.</summary>
    Different,
}

/// <summary>One record's check: what DNS answered, in a line a DNS administrator can act on.</summary>
public sealed record RecordCheck(DomainRecord Record, RecordState State, string Found);

/// <summary>
/// Asks DNS for each record a domain needs (<see cref="DomainRecords"/>) and says which are there,
/// missing or different. A policy record (SPF, DMARC, TLS-RPT) of the domain's own is accepted if it is
/// of the right kind; the DKIM key and the MX, SRV and CNAME targets must be this server's. A service
/// record that declares the cleartext services absent may also be left out.
/// </summary>
public static class DomainCheck
{
    public static async Task<IReadOnlyList<RecordCheck>> CheckAsync(IReadOnlyList<DomainRecord> records, IDnsQuery dns, CancellationToken ct = default)
    {
        var results = new List<RecordCheck>(records.Count);
        foreach (var record in records)
        {
            results.Add(await CheckAsync(record, dns, ct));
        }

        return results;
    }

    private static string Host(string name) => name.TrimEnd('.').ToLowerInvariant();

    private static async Task<RecordCheck> CheckAsync(DomainRecord record, IDnsQuery dns, CancellationToken ct)
    {
        var type = record.Type switch { "MX" => QueryType.MX, "TXT" => QueryType.TXT, "SRV" => QueryType.SRV, _ => QueryType.CNAME };
        IDnsQueryResponse answer;
        try
        {
            answer = await dns.QueryAsync(record.Name, type, QueryClass.IN, ct);
        }
        catch (DnsResponseException ex)
        {
            return new RecordCheck(record, RecordState.Missing, "no answer: " + ex.Code);
        }

        switch (record.Type)
        {
            case "MX":
            {
                var hosts = answer.Answers.MxRecords().Select(m => Host(m.Exchange.Value)).ToList();
                var wanted = Host(record.Value.Split(' ')[1]);
                return hosts.Count == 0 ? new(record, RecordState.Missing, "")
                    : hosts.Contains(wanted) ? new(record, RecordState.Ok, string.Join(", ", hosts))
                    : new(record, RecordState.Different, string.Join(", ", hosts));
            }

            case "TXT":
            {
                var texts = answer.Answers.TxtRecords().Select(t => string.Concat(t.Text)).ToList();
                var kind = record.Value.Split(';')[0].Split(' ')[0]; // v=spf1, v=DMARC1, v=TLSRPTv1, v=DKIM1
                var ofKind = texts.Where(t => t.StartsWith(kind, StringComparison.OrdinalIgnoreCase)).ToList();
                if (ofKind.Count == 0)
                {
                    return new(record, texts.Count == 0 ? RecordState.Missing : RecordState.Different, string.Join(" | ", texts));
                }

                // The DKIM key must be this one; a policy of the domain's own is its administrators' choice.
                var exact = ofKind.Any(t => Normalise(t) == Normalise(record.Value));
                return record.Purpose == "dkim" && !exact ? new(record, RecordState.Different, ofKind[0]) : new(record, RecordState.Ok, ofKind[0]);
            }

            case "SRV":
            {
                var services = answer.Answers.SrvRecords().Select(s => (Target: Host(s.Target.Value), s.Port)).ToList();
                var parts = record.Value.Split(' ');
                var (port, target) = (int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture), Host(parts[3]));
                var found = string.Join(", ", services.Select(s => $"{s.Target}:{s.Port}"));
                if (target.Length == 0)
                {
                    // "Not offered here": absent is as good as an explicit ".".
                    return services.All(s => s.Target.Length == 0) ? new(record, RecordState.Ok, found) : new(record, RecordState.Different, found);
                }

                return services.Count == 0 ? new(record, RecordState.Missing, "")
                    : services.Any(s => s.Target == target && s.Port == port) ? new(record, RecordState.Ok, found)
                    : new(record, RecordState.Different, found);
            }

            default:
            {
                var targets = answer.Answers.CnameRecords().Select(c => Host(c.CanonicalName.Value)).ToList();
                return targets.Count == 0 ? new(record, RecordState.Missing, "")
                    : targets.Contains(Host(record.Value)) ? new(record, RecordState.Ok, targets[0])
                    : new(record, RecordState.Different, targets[0]);
            }
        }
    }

    private static string Normalise(string value) => string.Join(' ', value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)).TrimEnd(';');
}
