using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sealpost.Core.Configuration;
using Sealpost.Delivery;

namespace Sealpost.Server.Hosting;

/// <summary>Runs this node's outbound workers for the server's lifetime (Delivery:Enabled).</summary>
internal sealed class OutboundDeliveryHost(SealpostRuntime runtime) : IHostedService
{
    private OutboundWorker? _worker;

    /// <summary>The worker, built from the runtime's services and the Delivery options.</summary>
    public static OutboundWorker CreateWorker(SealpostRuntime runtime, TimeProvider time)
    {
        var options = runtime.Options;
        var dns = options.Smtp.DnsServers.Select(s => { OptionsValidator.TryParseEndpoint(s, out var e); return e; }).ToList();
        var logger = runtime.LoggerFactory.CreateLogger("Sealpost.Delivery");
        var connector = new EgressConnector();
        var routes = new RouteResolver(options.Delivery, dns, options.Smtp.UseSystemDns);
        if (options.Delivery.MtaSts)
        {
            routes.MtaSts = new MtaStsResolver(options.Delivery, routes, connector, SmtpTransport.ExtraRoots(options.Delivery), time);
        }

        return new OutboundWorker(new Sealpost.Domain.Queue.QueueService(runtime.Store, runtime.QueueSealer, runtime.Guard, time), runtime.Deliveries, routes,
            new SmtpTransport(options.Delivery, connector, options.Hostname, logger), options.Delivery, options.Hostname,
            runtime.QueueWakeup, time, logger);
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
