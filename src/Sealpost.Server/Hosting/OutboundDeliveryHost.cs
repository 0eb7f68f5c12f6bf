using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Delivery;

namespace Sealpost.Server.Hosting;

/// <summary>Runs this node's outbound workers for the server's lifetime (Delivery:Enabled).</summary>
internal sealed class OutboundDeliveryHost(SealpostRuntime runtime) : IHostedService
{
    private OutboundWorker? _worker;

    /// <summary>How the server finds the outside (mail peers, report addresses, the ACME CA): Smtp:DnsServers or the system's resolvers, and the Delivery routes.</summary>
    internal static RouteResolver RoutesFor(SealpostOptions options) =>
        new(options.Delivery, options.Smtp.DnsServers.Select(s => { OptionsValidator.TryParseEndpoint(s, out var e); return e; }).ToList(), options.Smtp.UseSystemDns);

    /// <summary>The worker, built from the runtime's services and the Delivery options.</summary>
    public static OutboundWorker CreateWorker(SealpostRuntime runtime, TimeProvider time)
    {
        var options = runtime.Options;
        var logger = runtime.LoggerFactory.CreateLogger("Sealpost.Delivery");
        var connector = new EgressConnector();
        var routes = RoutesFor(options);
        if (options.Delivery.MtaSts)
        {
            routes.MtaSts = new MtaStsResolver(options.Delivery, routes, connector, SmtpTransport.ExtraRoots(options.Delivery), time, new KeystorePolicies(runtime.Keystore));
        }

        return new OutboundWorker(new Sealpost.Domain.Queue.QueueService(runtime.Store, runtime.QueueSealer, runtime.Guard, time), runtime.Deliveries, routes,
            new SmtpTransport(options.Delivery, connector, options.Hostname, logger) { Reports = runtime.TlsReports }, options.Delivery, options.Hostname,
            runtime.QueueWakeup, time, logger);
    }

    /// <summary>MTA-STS policies kept in the keystore (not secret, but sealed like everything else), so every node and a restart see them.</summary>
    private sealed class KeystorePolicies(Sealpost.Crypto.Vault.Keystore keystore) : IMtaStsPolicyStore
    {
        public async Task<(MtaStsPolicy Policy, DateTimeOffset Expires)?> LoadAsync(string domain, CancellationToken ct) =>
            await keystore.GetSecretAsync("mta-sts/" + domain.ToLowerInvariant(), ct) is { } bytes
            && System.Text.Json.JsonSerializer.Deserialize<Stored>(bytes) is { } stored
                ? (new MtaStsPolicy(stored.Id, stored.Mode, stored.Mx, TimeSpan.FromSeconds(stored.MaxAge)), stored.Expires)
                : null;

        public Task SaveAsync(string domain, MtaStsPolicy policy, DateTimeOffset expires, CancellationToken ct) =>
            keystore.PutSecretAsync("mta-sts/" + domain.ToLowerInvariant(),
                System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Stored(policy.Id, policy.Mode, [.. policy.MxPatterns], (long)policy.MaxAge.TotalSeconds, expires)), ct);

        private sealed record Stored(string Id, string Mode, List<string> Mx, long MaxAge, DateTimeOffset Expires);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _worker = CreateWorker(runtime, TimeProvider.System);
        _worker.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _worker, null) is { } worker)
        {
            await worker.DisposeAsync();
        }
    }
}
