using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Sealpost.Core.Configuration;

namespace Sealpost.Delivery;

/// <summary>A domain's MTA-STS policy (RFC 8461 §3.2): the mode, the MX patterns, how long it may be cached.</summary>
public sealed record MtaStsPolicy(string Id, string Mode, IReadOnlyList<string> MxPatterns, TimeSpan MaxAge)
{
    public bool Enforced => Mode == "enforce";

    /// <summary>RFC 8461 §4.1: an exact name, or "*.example.com" matching exactly one leftmost label.</summary>
    public bool Matches(string host)
    {
        host = host.TrimEnd('.').ToLowerInvariant();
        foreach (var pattern in MxPatterns.Select(p => p.TrimEnd('.').ToLowerInvariant()))
        {
            if (pattern.StartsWith("*.", StringComparison.Ordinal))
            {
                var dot = host.IndexOf('.', StringComparison.Ordinal);
                if (dot > 0 && host[(dot + 1)..] == pattern[2..])
                {
                    return true;
                }
            }
            else if (host == pattern)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Parses a policy body; null if it is not a valid STSv1 policy.</summary>
    public static MtaStsPolicy? Parse(string id, string body)
    {
        string? version = null, mode = null;
        long maxAge = -1;
        var mx = new List<string>();
        foreach (var raw in body.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "version": version = value; break;
                case "mode": mode = value; break;
                case "mx": mx.Add(value); break;
                case "max_age": maxAge = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : -1; break;
            }
        }

        if (version != "STSv1" || mode is not ("enforce" or "testing" or "none") || maxAge is < 0 or > 31_557_600 || (mode != "none" && mx.Count == 0))
        {
            return null;
        }

        return new MtaStsPolicy(id, mode, mx, TimeSpan.FromSeconds(maxAge));
    }
}

/// <summary>Where policies outlive a restart and are shared by nodes (RFC 8461 §5.1: a cached policy stands until it expires).</summary>
public interface IMtaStsPolicyStore
{
    Task<(MtaStsPolicy Policy, DateTimeOffset Expires)?> LoadAsync(string domain, CancellationToken ct);

    Task SaveAsync(string domain, MtaStsPolicy policy, DateTimeOffset expires, CancellationToken ct);
}

/// <summary>
/// Finds and caches destination domains' MTA-STS policies (RFC 8461): the <c>_mta-sts</c> TXT record
/// names the policy's id; the policy comes over HTTPS from <c>mta-sts.DOMAIN</c> with a certificate
/// valid for that name, no redirects, at most 64 KB. A cached policy is used until its max_age runs
/// out, and refreshed when the TXT id changes; a policy that cannot be fetched counts as none unless
/// one is cached (§5.1). Fetches go through the egress connector like every other connection.
/// </summary>
public sealed class MtaStsResolver : IDisposable
{
    private const int MaxPolicyBytes = 64 * 1024;
    private readonly RouteResolver _dns;
    private readonly HttpClient _http;
    private readonly int _port;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (MtaStsPolicy Policy, DateTimeOffset Expires)> _cache = new(StringComparer.OrdinalIgnoreCase);

    private readonly IMtaStsPolicyStore? _persisted;

    public MtaStsResolver(DeliveryOptions options, RouteResolver dns, EgressConnector connector, X509Certificate2Collection? extraRoots, TimeProvider time, IMtaStsPolicyStore? persisted = null)
    {
        _persisted = persisted;
        _dns = dns;
        _time = time;
        _port = options.TestMtaStsPort > 0 ? options.TestMtaStsPort : 443;
        _http = connector.CreateHttpClient(dns.AddressesAsync, (host, certificate, errors) => SmtpTransport.Verified(host, certificate, errors, extraRoots), TimeSpan.FromSeconds(10));
    }

    /// <summary>The domain's policy, or null when it has none (or none could be had and none is cached).</summary>
    public async Task<MtaStsPolicy?> GetAsync(string domain, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var txt = await _dns.TxtAsync("_mta-sts." + domain, ct);
        var record = txt?.FirstOrDefault(t => t.StartsWith("v=STSv1", StringComparison.Ordinal));
        if (!_cache.ContainsKey(domain) && _persisted is not null && await _persisted.LoadAsync(domain, ct) is { } stored)
        {
            _cache.TryAdd(domain, stored);
        }

        var cached = _cache.TryGetValue(domain, out var c) && c.Expires > now ? c.Policy : null;
        if (record is null)
        {
            // No record (or DNS did not answer): a cached policy still holds until it expires (§5.1).
            return cached;
        }

        var id = record.Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("id=", StringComparison.Ordinal))?[3..] ?? "";
        if (cached is not null && cached.Id == id)
        {
            return cached;
        }

        var fetched = await FetchAsync(domain, id, ct);
        if (fetched is null)
        {
            return cached;
        }

        _cache[domain] = (fetched, now + fetched.MaxAge);
        if (_persisted is not null)
        {
            await _persisted.SaveAsync(domain, fetched, now + fetched.MaxAge, ct);
        }

        return fetched;
    }

    private async Task<MtaStsPolicy?> FetchAsync(string domain, string id, CancellationToken ct)
    {
        var uri = new UriBuilder("https", "mta-sts." + domain, _port, "/.well-known/mta-sts.txt").Uri;
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != "text/plain"
                || response.Content.Headers.ContentLength > MaxPolicyBytes)
            {
                return null;
            }

            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var buffer = new byte[MaxPolicyBytes + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), ct)) > 0)
            {
                read += n;
            }

            return read > MaxPolicyBytes ? null : MtaStsPolicy.Parse(id, System.Text.Encoding.UTF8.GetString(buffer, 0, read));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or System.Security.Authentication.AuthenticationException)
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();
}
