using System.Collections.Concurrent;
using System.Text;
using MailKit.Net.Imap;
using MailKit.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sealpost.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// Metrics pushed over OTLP/HTTP (protobuf) to a collector endpoint (an HTTP listener standing in for the
/// OpenTelemetry collector, which Debian does not package): the server posts the Sealpost meter's
/// instruments at the configured interval.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task The_server_pushes_its_metrics_to_the_collector()
    {
        var posts = new ConcurrentQueue<(string ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/metrics", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            posts.Enqueue((http.Request.ContentType ?? "", body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();
        var url = collector.Urls.Single() + "/v1/metrics";

        await using var server = await TestServer.StartAsync(o =>
        {
            o.Delivery.Enabled = false;
            o.Metrics.OtlpEndpoint = url;
            o.Metrics.OtlpIntervalSeconds = 1;
        });
        using (var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await imap.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
            await imap.AuthenticateAsync("alice@example.test", "alice-dev-password");
            await imap.DisconnectAsync(true);
        }

        var until = DateTime.UtcNow.AddSeconds(30);
        while (!posts.Any(p => Encoding.UTF8.GetString(p.Body).Contains("sealpost.logins", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < until, $"no OTLP push with sealpost.logins in 30 s ({posts.Count} posts)");
            await Task.Delay(100);
        }

        Assert.All(posts, p => Assert.Equal("application/x-protobuf", p.ContentType));
    }
}
