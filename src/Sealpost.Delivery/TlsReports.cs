using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MimeKit;

namespace Sealpost.Delivery;

/// <summary>
/// The TLS policy a recipient domain's MX delivery ran under, as an RFC 8460 §4.4 report names it:
/// "sts" (its MTA-STS policy, as policy strings), "tlsa" (its MX hosts' DANE TLSA records) or
/// "no-policy-found".
/// </summary>
public sealed record TlsReportPolicy(string Domain, string Type, IReadOnlyList<string> Strings, IReadOnlyList<string> MxHosts)
{
    public static TlsReportPolicy None(string domain) => new(domain, "no-policy-found", [], []);

    public static TlsReportPolicy Sts(string domain, MtaStsPolicy policy) =>
        new(domain, "sts", ["version: STSv1", "mode: " + policy.Mode, .. policy.MxPatterns.Select(p => "mx: " + p), "max_age: " + ((long)policy.MaxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture)], policy.MxPatterns);

    public static TlsReportPolicy Dane(string domain, IEnumerable<(string Host, Tlsa Record)> records) =>
        new(domain, "tlsa", records.Select(r => $"{r.Record.Usage} {r.Record.Selector} {r.Record.MatchingType} {Convert.ToHexString(r.Record.Data)}").Distinct().ToList(),
            records.Select(r => r.Host).Distinct().ToList());

    /// <summary>The key one day's counts are kept under.</summary>
    internal string Key => Domain + "\n" + Type + "\n" + string.Join("\n", Strings);
}

/// <summary>
/// Counts this node's outbound TLS sessions per day and recipient policy, for the daily TLS-RPT
/// reports (RFC 8460): successful sessions, and failed ones by result type and receiving host. Only
/// metadata (domains, host names, addresses, counts) is kept; it is saved sealed in the keystore.
/// </summary>
public sealed class TlsReportCollector(TimeProvider? time = null)
{
    /// <summary>The clock days are counted by; tests over a running server move it to the next day.</summary>
    internal TimeProvider Clock { get; set; } = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<(DateOnly Day, string Key), Aggregate> _days = new();

    public sealed class Aggregate
    {
        [JsonPropertyName("policy")] public required TlsReportPolicy Policy { get; init; }
        [JsonPropertyName("ok")][JsonInclude] public long Successes;
        [JsonPropertyName("failures")] public ConcurrentDictionary<string, long> Failures { get; init; } = new();
    }

    /// <summary>A session that negotiated TLS under <paramref name="policy"/>.</summary>
    public void Success(TlsReportPolicy policy) => Interlocked.Increment(ref For(policy).Successes);

    /// <summary>A session that failed its policy (RFC 8460 §4.3 result types: starttls-not-supported, validation-failure, …).</summary>
    public void Failure(TlsReportPolicy policy, string resultType, string receivingHost, string? receivingIp) =>
        For(policy).Failures.AddOrUpdate($"{resultType}\n{receivingHost}\n{receivingIp}", 1, (_, n) => n + 1);

    private Aggregate For(TlsReportPolicy policy) =>
        _days.GetOrAdd((DateOnly.FromDateTime(Clock.GetUtcNow().UtcDateTime), policy.Key), _ => new Aggregate { Policy = policy });

    /// <summary>Removes and returns every day before today (UTC), by day and policy domain.</summary>
    public IReadOnlyList<(DateOnly Day, string Domain, IReadOnlyList<Aggregate> Policies)> TakeFinishedDays()
    {
        var today = DateOnly.FromDateTime(Clock.GetUtcNow().UtcDateTime);
        var taken = new List<(DateOnly Day, Aggregate Aggregate)>();
        foreach (var key in _days.Keys.Where(k => k.Day < today).ToList())
        {
            if (_days.TryRemove(key, out var aggregate))
            {
                taken.Add((key.Day, aggregate));
            }
        }

        return taken.GroupBy(t => (t.Day, t.Aggregate.Policy.Domain))
            .Select(g => (g.Key.Day, g.Key.Domain, (IReadOnlyList<Aggregate>)g.Select(t => t.Aggregate).ToList()))
            .OrderBy(g => g.Day).ThenBy(g => g.Domain, StringComparer.Ordinal).ToList();
    }

    /// <summary>Puts back what could not be reported yet (the next pass tries again).</summary>
    public void Restore(DateOnly day, IEnumerable<Aggregate> aggregates)
    {
        foreach (var a in aggregates)
        {
            var into = _days.GetOrAdd((day, a.Policy.Key), _ => new Aggregate { Policy = a.Policy });
            Interlocked.Add(ref into.Successes, a.Successes);
            foreach (var (k, n) in a.Failures)
            {
                into.Failures.AddOrUpdate(k, n, (_, m) => m + n);
            }
        }
    }

    private sealed record Saved([property: JsonPropertyName("day")] DateOnly Day, [property: JsonPropertyName("a")] Aggregate Aggregate);

    /// <summary>Everything counted and not yet reported, for saving across restarts.</summary>
    public byte[] Save() => JsonSerializer.SerializeToUtf8Bytes(_days.Select(d => new Saved(d.Key.Day, d.Value)).ToList());

    /// <summary>Adds what <see cref="Save"/> wrote (at start). A damaged entry is ignored: these are statistics.</summary>
    public void Load(byte[] saved)
    {
        try
        {
            foreach (var s in JsonSerializer.Deserialize<List<Saved>>(saved) ?? [])
            {
                Restore(s.Day, [s.Aggregate]);
            }
        }
        catch (JsonException)
        {
        }
    }
}

/// <summary>Builds RFC 8460 reports: the JSON (§4.4), gzipped, and the report message for a mailto: address (§5.3).</summary>
public static class TlsReport
{
    /// <summary>The rua addresses of a "v=TLSRPTv1; rua=…" record (§3), or empty when it is not one.</summary>
    public static IReadOnlyList<Uri> Destinations(IEnumerable<string> txt)
    {
        var records = txt.Where(t => t.StartsWith("v=TLSRPTv1", StringComparison.Ordinal)).ToList();
        if (records.Count != 1)
        {
            return []; // none, or several: §3 says to ignore the domain's records then
        }

        var rua = records[0].Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("rua=", StringComparison.Ordinal));
        return rua is null ? [] : rua[4..].Split(',')
            .Select(u => Uri.TryCreate(u.Trim(), UriKind.Absolute, out var uri) ? uri : null)
            .Where(u => u is not null && (u.Scheme == "mailto" || u.Scheme == Uri.UriSchemeHttps)).Select(u => u!).ToList();
    }

    public static string ReportId(DateOnly day, string domain, string node) => $"{day:yyyy-MM-dd}_{domain}_{node}";

    public static JsonObject Json(string organization, string contact, DateOnly day, string domain, string node, IReadOnlyList<TlsReportCollector.Aggregate> policies, string? sendingIp)
    {
        var start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        return new JsonObject
        {
            ["organization-name"] = organization,
            ["date-range"] = new JsonObject
            {
                ["start-datetime"] = start.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ["end-datetime"] = start.AddDays(1).AddSeconds(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            },
            ["contact-info"] = contact,
            ["report-id"] = ReportId(day, domain, node),
            ["policies"] = new JsonArray(policies.Select(p =>
            {
                var policy = new JsonObject
                {
                    ["policy-type"] = p.Policy.Type,
                    ["policy-domain"] = domain,
                };
                if (p.Policy.Strings.Count > 0)
                {
                    policy["policy-string"] = new JsonArray(p.Policy.Strings.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());
                }

                if (p.Policy.MxHosts.Count > 0)
                {
                    policy["mx-host"] = new JsonArray(p.Policy.MxHosts.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());
                }

                var entry = new JsonObject
                {
                    ["policy"] = policy,
                    ["summary"] = new JsonObject
                    {
                        ["total-successful-session-count"] = p.Successes,
                        ["total-failure-session-count"] = p.Failures.Values.Sum(),
                    },
                };
                if (!p.Failures.IsEmpty)
                {
                    entry["failure-details"] = new JsonArray(p.Failures.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f =>
                    {
                        var parts = f.Key.Split('\n');
                        var detail = new JsonObject { ["result-type"] = parts[0], ["receiving-mx-hostname"] = parts[1] };
                        if (parts[2].Length > 0)
                        {
                            detail["receiving-ip"] = parts[2];
                        }

                        if (sendingIp is not null)
                        {
                            detail["sending-mta-ip"] = sendingIp;
                        }

                        detail["failed-session-count"] = f.Value;
                        return (JsonNode)detail;
                    }).ToArray());
                }

                return (JsonNode)entry;
            }).ToArray()),
        };
    }

    public static byte[] Gzip(JsonObject report)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(report.ToJsonString()));
        }

        return buffer.ToArray();
    }

    /// <summary>§5.3's file name: submitter!policy-domain!begin!end!unique-id.json.gz (times in seconds since the epoch).</summary>
    public static string FileName(string submitter, DateOnly day, string domain, string node)
    {
        var begin = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)).ToUnixTimeSeconds();
        return string.Create(CultureInfo.InvariantCulture, $"{submitter}!{domain}!{begin}!{begin + 86_399}!{node}.json.gz");
    }

    /// <summary>The report as mail (§5.3): multipart/report; report-type="tlsrpt", the gzipped JSON as application/tlsrpt+gzip.</summary>
    public static MimeMessage Message(string from, string to, string submitter, DateOnly day, string domain, string node, byte[] gzipped)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        var id = ReportId(day, domain, node);
        message.Subject = $"Report Domain: {domain} Submitter: {submitter} Report-ID: <{id}>";
        message.Headers.Add("TLS-Report-Domain", domain);
        message.Headers.Add("TLS-Report-Submitter", submitter);
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(from[(from.IndexOf('@') + 1)..]);
        var report = new MultipartReport("tlsrpt");
        report.Add(new TextPart("plain") { Text = $"This is an aggregate TLS report from {submitter} for {domain} on {day:yyyy-MM-dd} (RFC 8460).\n" });
        report.Add(new MimePart("application", "tlsrpt+gzip")
        {
            Content = new MimeContent(new MemoryStream(gzipped)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = FileName(submitter, day, domain, node) },
            ContentTransferEncoding = ContentEncoding.Base64,
        });
        message.Body = report;
        return message;
    }
}
