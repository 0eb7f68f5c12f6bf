using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Sealpost.Core.Configuration;

namespace Sealpost.Delivery;

/// <summary>One host to try for a destination, with the addresses it resolved to.</summary>
public sealed record MailHost(string Name, IReadOnlyList<IPAddress> Addresses, int Port, bool RequireTls, NetworkCredential? Credential)
{
    /// <summary>DNSSEC-validated TLSA records (RFC 7672): when present, TLS is required and the certificate must match one of them.</summary>
    public IReadOnlyList<Tlsa> Tlsa { get; init; } = [];
}

/// <summary>
/// Where a domain's mail goes: hosts in order of preference, or a failure that holds for every
/// recipient of the domain (permanent: the domain does not exist or accepts no mail; temporary: DNS
/// did not answer).
/// </summary>
public sealed record Route(IReadOnlyList<MailHost> Hosts, DeliveryReply? Failure)
{
    public static Route Fail(DeliveryReply reply) => new([], reply);

    /// <summary>The recipient domain's TLS policy for TLS-RPT (RFC 8460); null for static routes and the smart host, which are ours.</summary>
    public TlsReportPolicy? ReportPolicy { get; init; }
}

/// <summary>
/// Routes a destination domain, in Postfix's order: a static route for the domain (transport map),
/// else the smart host, else its MX hosts by preference (RFC 5321 §5.1), falling back to the
/// domain's own A/AAAA when it has no MX; a null MX (RFC 7505) means it accepts no mail.
/// </summary>
public sealed class RouteResolver
{
    private readonly DeliveryOptions _options;
    private readonly LookupClient? _dns;
    private readonly Dictionary<string, NetworkCredential> _credentials = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="dnsServers">Resolvers to ask; empty with <paramref name="useSystemDns"/> off: no MX lookups (every MX route fails temporarily).</param>
    public RouteResolver(DeliveryOptions options, IReadOnlyList<IPEndPoint> dnsServers, bool useSystemDns)
    {
        _options = options;
        // Route passwords are read once, at start (the validator made sure each file exists).
        foreach (var (domain, route) in options.Routes.Where(r => r.Value.Username is not null))
        {
            _credentials[domain] = new NetworkCredential(route.Username, File.ReadAllText(route.PasswordFile!).TrimEnd('\r', '\n'));
        }

        if (dnsServers.Count == 0 && !useSystemDns)
        {
            return;
        }

        var lookup = dnsServers.Count > 0 ? new LookupClientOptions(dnsServers.ToArray()) : new LookupClientOptions();
        lookup.UseCache = true;
        // DO bit: a validating resolver then says (AD) which answers DNSSEC proved, which DANE needs.
        lookup.RequestDnsSecRecords = options.Dane;
        lookup.Timeout = TimeSpan.FromSeconds(5);
        lookup.Retries = 2;
        lookup.ThrowDnsErrors = false;
        lookup.ContinueOnDnsError = false;
        _dns = new LookupClient(lookup);
    }

    /// <summary>MTA-STS policies of MX-routed domains (RFC 8461), when enabled.</summary>
    public MtaStsResolver? MtaSts { get; set; }

    public async Task<Route> ResolveAsync(string domain, CancellationToken ct)
    {
        if (_options.Routes.TryGetValue(domain, out var route))
        {
            return await StaticAsync(route.Host, route.Port, route.RequireTls || route.Username is not null || _options.RequireTls,
                _credentials.GetValueOrDefault(domain), ct);
        }

        if (!string.IsNullOrWhiteSpace(_options.SmartHost))
        {
            var colon = _options.SmartHost.LastIndexOf(':');
            return await StaticAsync(_options.SmartHost[..colon], int.Parse(_options.SmartHost[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), _options.RequireTls, null, ct);
        }

        var port = _options.TestMxPort > 0 ? _options.TestMxPort : 25;
        var mx = await QueryAsync(domain, QueryType.MX, ct);
        if (mx.Failure is { } failure)
        {
            return Route.Fail(failure);
        }

        var exchanges = mx.Response!.Answers.MxRecords().ToList();
        if (exchanges.Count == 0)
        {
            // RFC 5321 §5.1: no MX, the domain itself is the implicit MX.
            var implicitHost = await HostAsync(domain, port, ct);
            return implicitHost.Addresses.Count > 0
                ? new Route([implicitHost], null) { ReportPolicy = TlsReportPolicy.None(domain) }
                : Route.Fail(DeliveryReply.Permanent("550 5.1.2 the recipient's domain has no mail host (no MX, A or AAAA record)"));
        }

        // RFC 7505 §3: a single MX of preference 0 naming the root means "accepts no mail".
        if (exchanges.Count == 1 && exchanges[0].Exchange.Value is "." or "")
        {
            return Route.Fail(DeliveryReply.Permanent("556 5.1.10 the recipient's domain accepts no mail (null MX)"));
        }

        // RFC 7672 §2.2: DANE applies to MX hosts of a DNSSEC-secure MX RRset.
        var secureMx = _options.Dane && mx.Response!.Header.IsAuthenticData;
        var hosts = new List<MailHost>();
        DeliveryReply? daneFailure = null;
        foreach (var group in exchanges.Where(r => r.Exchange.Value is not ("." or "")).GroupBy(r => r.Preference).OrderBy(g => g.Key))
        {
            foreach (var record in group.OrderBy(_ => Random.Shared.Next()))
            {
                var host = await HostAsync(record.Exchange.Value.TrimEnd('.'), port, ct);
                if (host.Addresses.Count == 0)
                {
                    continue;
                }

                if (secureMx)
                {
                    var tlsa = await TlsaAsync(host.Name, port, ct);
                    if (tlsa is null)
                    {
                        // The TLSA lookup failed (a bogus or unanswered signed zone): this host cannot be used safely.
                        daneFailure = DeliveryReply.Temporary($"451 4.7.5 the DANE TLSA records of {host.Name} could not be validated");
                        continue;
                    }

                    host = tlsa.Count > 0 ? host with { RequireTls = true, Tlsa = tlsa } : host;
                }

                hosts.Add(host);
            }
        }

        if (hosts.Count == 0)
        {
            return Route.Fail(daneFailure ?? DeliveryReply.Temporary("451 4.4.4 the recipient's mail hosts have no address"));
        }

        // RFC 8461 §5: under an enforced policy only matching MX hosts are used, with verified TLS.
        var sts = MtaSts is null ? null : await MtaSts.GetAsync(domain, ct);
        if (sts is { Enforced: true } policy)
        {
            hosts = hosts.Where(h => policy.Matches(h.Name)).Select(h => h with { RequireTls = true }).ToList();
            if (hosts.Count == 0)
            {
                return Route.Fail(DeliveryReply.Temporary("451 4.7.5 no MX host of the recipient's domain matches its MTA-STS policy"));
            }
        }

        // RFC 8460 §4.4: DANE takes precedence over MTA-STS where both exist (RFC 8461 §2).
        var report = hosts.Any(h => h.Tlsa.Count > 0) ? TlsReportPolicy.Dane(domain, hosts.SelectMany(h => h.Tlsa.Select(t => (h.Name, t))))
            : sts is { Mode: "enforce" or "testing" } ? TlsReportPolicy.Sts(domain, sts)
            : TlsReportPolicy.None(domain);
        return new Route(hosts, null) { ReportPolicy = report };
    }

    /// <summary>
    /// A host's usable TLSA records (RFC 7672 §3: DANE-TA(2) and DANE-EE(3) only), proved by DNSSEC;
    /// empty when it has none (or they are not signed); null when the lookup failed.
    /// </summary>
    private async Task<IReadOnlyList<Tlsa>?> TlsaAsync(string host, int port, CancellationToken ct)
    {
        var answer = await QueryAsync($"_{port}._tcp.{host}", QueryType.TLSA, ct);
        if (answer.Response is not { } response)
        {
            return answer.Failure is { IsPermanent: true } ? [] : null;
        }

        if (!response.Header.IsAuthenticData)
        {
            return [];
        }

        return response.Answers.OfType<TlsaRecord>()
            .Where(t => (int)t.CertificateUsage is 2 or 3 && (int)t.Selector is 0 or 1 && (int)t.MatchingType is 0 or 1 or 2)
            .Select(t => new Tlsa((int)t.CertificateUsage, (int)t.Selector, (int)t.MatchingType, t.CertificateAssociationData.ToArray()))
            .ToList();
    }

    /// <summary>A name's TXT strings (each record's strings joined), or null when DNS did not answer.</summary>
    public async Task<IReadOnlyList<string>?> TxtAsync(string name, CancellationToken ct)
    {
        var answer = await QueryAsync(name, QueryType.TXT, ct);
        return answer.Response is { } response ? response.Answers.TxtRecords().Select(t => string.Concat(t.Text)).ToList()
            : answer.Failure is { IsPermanent: true } ? [] : null;
    }

    /// <summary>A host's addresses, IPv6 first.</summary>
    public async Task<IReadOnlyList<IPAddress>> AddressesAsync(string name, CancellationToken ct) =>
        IPAddress.TryParse(name.Trim('[', ']'), out var literal) ? [literal] : (await HostAsync(name, 0, ct)).Addresses;

    private async Task<Route> StaticAsync(string host, int port, bool requireTls, NetworkCredential? credential, CancellationToken ct)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return new Route([new MailHost(host, [literal], port, requireTls, credential)], null);
        }

        var resolved = await HostAsync(host, port, ct);
        return resolved.Addresses.Count > 0
            ? new Route([resolved with { RequireTls = requireTls, Credential = credential }], null)
            : Route.Fail(DeliveryReply.Temporary($"451 4.4.4 the route's host {host} has no address"));
    }

    /// <summary>A host's IPv6 and IPv4 addresses (both tried, IPv6 first as RFC 6724 prefers).</summary>
    private async Task<MailHost> HostAsync(string name, int port, CancellationToken ct)
    {
        var addresses = new List<IPAddress>();
        foreach (var type in new[] { QueryType.AAAA, QueryType.A })
        {
            var answer = await QueryAsync(name, type, ct);
            if (answer.Response is { } response)
            {
                addresses.AddRange(response.Answers.OfType<AddressRecord>().Select(a => a.Address));
            }
        }

        return new MailHost(name, addresses, port, _options.RequireTls, null);
    }

    private async Task<(IDnsQueryResponse? Response, DeliveryReply? Failure)> QueryAsync(string name, QueryType type, CancellationToken ct)
    {
        if (_dns is null)
        {
            return (null, DeliveryReply.Temporary("451 4.4.3 no DNS resolver is configured (Smtp:DnsServers, Smtp:UseSystemDns)"));
        }

        try
        {
            var response = await _dns.QueryAsync(name, type, QueryClass.IN, ct);
            if (response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
            {
                return (null, DeliveryReply.Permanent($"550 5.1.2 the recipient's domain {name} does not exist"));
            }

            return response.HasError
                ? (null, DeliveryReply.Temporary($"451 4.4.3 DNS lookup of {name} failed: {response.ErrorMessage}"))
                : (response, null);
        }
        catch (DnsResponseException ex)
        {
            return (null, DeliveryReply.Temporary($"451 4.4.3 DNS lookup of {name} failed: {ex.Message.Split('\n')[0]}"));
        }
    }
}
