using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Domain.Audit;

namespace Sealpost.Server.Audit;

/// <summary>
/// Pushes the signed audit chain head to the collector the customer's auditors run, at
/// <c>Audit:CollectorIntervalSeconds</c>: one RFC 5424 syslog message per head over TLS (RFC 5425),
/// octet-counted (RFC 6587 §3.4.1). Whoever can write the audit store could recompute the chain;
/// heads held by someone else are what make that visible (<c>sealpost audit verify --heads</c>).
/// </summary>
internal sealed class AuditHeadPublisher(SealpostRuntime runtime, ILogger<AuditHeadPublisher> logger) : BackgroundService
{
    // RFC 5424 §6.2.1: facility 13 "log audit", severity 6 "informational".
    private const int Priority = 13 * 8 + 6;

    // RFC 5424 §7.2.2: an SD-ID of our own is name@private-enterprise-number; 32473 is the number RFC 5612 reserves for documentation.
    private const string StructuredDataId = "sealpost@32473";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = runtime.Options.Audit;
        if (string.IsNullOrWhiteSpace(options.Collector))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.CollectorIntervalSeconds));
        long lastSent = -1;
        do
        {
            try
            {
                var head = await runtime.AuditService.PublishHeadAsync(Actor.System("syslog"), stoppingToken);
                if (head is not null && head.Sequence != lastSent)
                {
                    await SendAsync(Format(head, runtime.Audit.Node, DateTimeOffset.UtcNow), stoppingToken);
                    lastSent = head.Sequence;
                    ServerAuditLog.HeadPublished(logger, head.Sequence);
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or System.Security.Authentication.AuthenticationException or SealpostException or TimeoutException)
            {
                ServerAuditLog.HeadPublishFailed(logger, ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One syslog message: HEADER, structured data with the sequence and hash, and the head as JSON (RFC 5424 §6).</summary>
    public static string Format(AuditHead head, string node, DateTimeOffset now)
    {
        var hostname = Printable(node, 255);
        var timestamp = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return $"<{Priority}>1 {timestamp} {hostname} sealpost - audit-head [{StructuredDataId} seq=\"{head.Sequence}\" hash=\"{head.Hash}\"] {head.ToJsonLine()}";
    }

    private async Task SendAsync(string message, CancellationToken ct)
    {
        var options = runtime.Options.Audit;
        OptionsValidatorEndpoint(options.Collector!, out var host, out var port);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, timeout.Token);
        await using var tls = new SslStream(client.GetStream(), false, Validate);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = string.IsNullOrWhiteSpace(options.CollectorServerName) ? host : options.CollectorServerName,
        }, timeout.Token);
        var bytes = Encoding.UTF8.GetBytes(message);
        var frame = Encoding.ASCII.GetBytes(bytes.Length.ToString(CultureInfo.InvariantCulture) + " ");
        await tls.WriteAsync(frame, timeout.Token);
        await tls.WriteAsync(bytes, timeout.Token);
        await tls.FlushAsync(timeout.Token);
        await tls.ShutdownAsync();
    }

    /// <summary>The system's trust store, or only <c>Audit:CollectorCaFile</c> when it is set.</summary>
    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var caFile = runtime.Options.Audit.CollectorCaFile;
        if (string.IsNullOrWhiteSpace(caFile))
        {
            return errors == SslPolicyErrors.None;
        }

        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.ImportFromPemFile(caFile);
        return custom.Build(new X509Certificate2(certificate));
    }

    private static void OptionsValidatorEndpoint(string text, out string host, out int port)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            throw SealpostException.Invalid($"Audit:Collector: '{text}' is not host:port");
        }

        host = text[..colon].Trim('[', ']');
    }

    private static string Printable(string text, int max)
    {
        var chars = text.Where(c => c is > ' ' and < (char)127).Take(max).ToArray();
        return chars.Length == 0 ? "-" : new string(chars);
    }
}

internal static partial class ServerAuditLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Information, Message = "Audit head {Sequence} sent to the collector")]
    public static partial void HeadPublished(ILogger logger, long sequence);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "Audit head could not be sent to the collector ({Error}); retried at the next interval")]
    public static partial void HeadPublishFailed(ILogger logger, string error);
}
