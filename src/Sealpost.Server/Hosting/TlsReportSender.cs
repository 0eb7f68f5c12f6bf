using System.Net.Http.Headers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Configuration;
using Sealpost.Crypto.Vault;
using Sealpost.Delivery;

namespace Sealpost.Server.Hosting;

/// <summary>
/// Sends this node's daily TLS-RPT reports (RFC 8460 §5): for each finished UTC day and each
/// recipient domain delivered to, the report goes to the addresses in the domain's
/// <c>_smtp._tls</c> TXT record: a mailto: address gets it as DKIM-signed mail through the outbound
/// queue, an https: address by POST. Each node reports its own sessions (the report id names the
/// node). What is counted and not yet reported is kept sealed in the keystore, so a restart keeps it.
/// </summary>
public sealed class TlsReportSender(SealpostRuntime runtime, TlsReportCollector collector, ILogger logger)
{
    private string StateName => "tlsrpt/" + runtime.Audit.Node;

    /// <summary>Adds what an earlier run of this node counted and did not report.</summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        if (await runtime.Keystore.GetSecretAsync(StateName, ct) is { } saved)
        {
            collector.Load(saved);
        }
    }

    public Task SaveAsync(CancellationToken ct) => runtime.Keystore.PutSecretAsync(StateName, collector.Save(), ct);

    /// <summary>Reports every finished day; returns how many reports were handed on. What fails is kept for the next pass.</summary>
    public async Task<int> SendDueAsync(CancellationToken ct)
    {
        var options = runtime.Options;
        var routes = OutboundDeliveryHost.RoutesFor(options);
        var organization = options.Delivery.TlsReportsOrganization.Length > 0 ? options.Delivery.TlsReportsOrganization : options.Hostname;
        var from = options.Delivery.TlsReportsFrom;
        var sent = 0;
        foreach (var (day, domain, policies) in collector.TakeFinishedDays())
        {
            try
            {
                var txt = await routes.TxtAsync("_smtp._tls." + domain, ct)
                    ?? throw new SealpostException(ErrorKind.TemporarilyUnavailable, "DNS did not answer for its _smtp._tls record");
                var destinations = TlsReport.Destinations(txt);
                if (destinations.Count == 0)
                {
                    continue; // the domain asks for no reports
                }

                var json = TlsReport.Json(organization, from, day, domain, runtime.Audit.Node, policies, null);
                var gzipped = TlsReport.Gzip(json);
                foreach (var destination in destinations)
                {
                    if (destination.Scheme == "mailto")
                    {
                        var to = Uri.UnescapeDataString(destination.AbsoluteUri["mailto:".Length..].Split('?')[0]);
                        using var buffer = new MemoryStream();
                        var message = TlsReport.Message(from, to, organization, day, domain, runtime.Audit.Node, gzipped);
                        await message.WriteToAsync(buffer, ct);
                        await runtime.Deliveries.EnqueueAsync(Actor.System("tlsrpt"),
                            new OutboundMessage("", [to], new Dictionary<string, string?>(), [new Dictionary<string, string?>()], buffer.ToArray()), message.MessageId!, ct);
                    }
                    else
                    {
                        await PostAsync(routes, destination, gzipped, ct);
                    }

                    sent++;
                }

                ServerLog.TlsReportSent(logger, domain, day.ToString("yyyy-MM-dd"), destinations.Count);
            }
            catch (Exception ex) when (ex is SealpostException or HttpRequestException or IOException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                ServerLog.TlsReportFailed(logger, domain, ex.Message);
                collector.Restore(day, policies);
            }
        }

        return sent;
    }

    private static async Task PostAsync(RouteResolver routes, Uri destination, byte[] gzipped, CancellationToken ct)
    {
        using var http = new EgressConnector().CreateHttpClient(routes.AddressesAsync, (_, _, errors) => errors == System.Net.Security.SslPolicyErrors.None, TimeSpan.FromSeconds(30));
        using var content = new ByteArrayContent(gzipped);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/tlsrpt+gzip");
        using var response = await http.PostAsync(destination, content, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{destination.Host} answered HTTP {(int)response.StatusCode}");
        }
    }
}

/// <summary>Runs <see cref="TlsReportSender"/> every Delivery:TlsReportsCheckMinutes (Delivery:TlsReports).</summary>
internal sealed class TlsReportHost(SealpostRuntime runtime, ILogger<TlsReportHost> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sender = new TlsReportSender(runtime, runtime.TlsReports!, logger);
        try
        {
            await sender.LoadAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                await sender.SendDueAsync(stoppingToken);
                await sender.SaveAsync(stoppingToken);
                await Task.Delay(TimeSpan.FromMinutes(runtime.Options.Delivery.TlsReportsCheckMinutes), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (SealpostException ex)
        {
            ServerLog.TlsReportFailed(logger, "(all)", ex.Message);
        }
        finally
        {
            try
            {
                await sender.SaveAsync(CancellationToken.None);
            }
            catch (SealpostException)
            {
                // The store is away at stop: this run's counts are lost, which costs statistics, not mail.
            }
        }
    }
}
