using Sealpost.Core.Configuration;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// TLS on the way out, against a real receiver offering STARTTLS with a certificate from a test CA:
/// opportunistic by default (any certificate), verified where a route requires TLS, and a refusal
/// to send in clear or to an unverified peer when it is required.
/// </summary>
public sealed class OutboundTlsTests : IDisposable
{
    private readonly TestCa _ca = new("Sealpost Test Partner CA");
    private readonly string _caFile, _certFile, _keyFile;

    public OutboundTlsTests()
    {
        _caFile = _ca.RootFile;
        (_certFile, _keyFile) = _ca.Issue("mx.partner.test");
    }

    public void Dispose() => _ca.Dispose();

    private static async Task<(TestServer Server, ManualTime Time)> StartAsync(DnsServer dns, Action<DeliveryOptions> configure)
    {
        var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            configure(o.Delivery);
        });
        await server.SendAsAliceAsync("over TLS", "carol@partner.test");
        return (server, new ManualTime(DateTimeOffset.UtcNow));
    }

    private static Task<DnsServer> DnsAsync() => DnsServer.StartAsync("--mx-host=partner.test,mx.partner.test,10", "--host-record=mx.partner.test,127.0.0.1");

    private static async Task<string?> LastReplyAsync(TestServer server)
    {
        var entry = Assert.Single(await server.Server.Runtime.Queue.ListAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, CancellationToken.None));
        return entry.LastError;
    }

    [Fact]
    public async Task A_REQUIRETLS_message_is_not_handed_to_a_host_that_does_not_offer_REQUIRETLS()
    {
        using var receiver = await SmtpReceiver.StartAsync(_certFile, _keyFile);
        using var dns = await DnsAsync();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            o.Delivery.TestMxPort = receiver.Port;
            o.Delivery.TestTrustedRootsFile = _caFile;
        });
        // RFC 8689: the sender asks that every hop use verified TLS and REQUIRETLS.
        await Submitter.SendAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Submission), [Submitter.Message("tls all the way", "carol@partner.test")],
            new MailKit.Net.Smtp.SmtpClient { RequireTLS = true });
        await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, new ManualTime(DateTimeOffset.UtcNow)).RunOnceAsync(CancellationToken.None);

        Assert.Empty(receiver.Messages);
        Assert.Empty(await server.Server.Runtime.Store.Queue.ListAsync()); // failed for good: reported, not retried
        Assert.Contains("Queue 1: 0 delivered, 1 failed", server.Logs.ToString());
    }

    [Fact]
    public async Task STARTTLS_is_used_whenever_offered_whatever_the_certificate()
    {
        using var receiver = await SmtpReceiver.StartAsync(_certFile, _keyFile);
        using var dns = await DnsAsync();
        var (server, time) = await StartAsync(dns, d => d.TestMxPort = receiver.Port);
        await using (server)
        {
            await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, time).RunOnceAsync(CancellationToken.None);
            Assert.Equal("yes", Assert.Single(receiver.Messages).Headers["X-Receiver-Tls"]);
            Assert.Matches(@"via mx\.partner\.test \(Tls1[23]", server.Logs.ToString());
        }
    }

    [Fact]
    public async Task A_route_that_requires_TLS_refuses_an_unverified_certificate()
    {
        using var receiver = await SmtpReceiver.StartAsync(_certFile, _keyFile);
        using var dns = await DnsAsync();
        var (server, time) = await StartAsync(dns, d => d.Routes["partner.test"] = new DeliveryRoute { Host = "mx.partner.test", Port = receiver.Port, RequireTls = true });
        await using (server)
        {
            await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, time).RunOnceAsync(CancellationToken.None);
            Assert.Empty(receiver.Messages);
            Assert.StartsWith("451 4.7.5", await LastReplyAsync(server));
        }
    }

    [Fact]
    public async Task A_route_that_requires_TLS_delivers_to_a_verified_certificate()
    {
        using var receiver = await SmtpReceiver.StartAsync(_certFile, _keyFile);
        using var dns = await DnsAsync();
        var (server, time) = await StartAsync(dns, d =>
        {
            d.Routes["partner.test"] = new DeliveryRoute { Host = "mx.partner.test", Port = receiver.Port, RequireTls = true };
            d.TestTrustedRootsFile = _caFile;
        });
        await using (server)
        {
            await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, time).RunOnceAsync(CancellationToken.None);
            Assert.Equal("yes", Assert.Single(receiver.Messages).Headers["X-Receiver-Tls"]);
        }
    }

    [Fact]
    public async Task A_route_that_requires_TLS_never_sends_in_clear()
    {
        using var receiver = await SmtpReceiver.StartAsync();
        using var dns = await DnsAsync();
        var (server, time) = await StartAsync(dns, d => d.Routes["partner.test"] = new DeliveryRoute { Host = "mx.partner.test", Port = receiver.Port, RequireTls = true });
        await using (server)
        {
            await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, time).RunOnceAsync(CancellationToken.None);
            Assert.Empty(receiver.Messages);
            Assert.StartsWith("451 4.7.4", await LastReplyAsync(server));
        }
    }

    [Theory]
    [InlineData("the relay's passphrase", true)]
    [InlineData("a wrong passphrase", false)]
    public async Task A_route_with_credentials_authenticates_over_verified_TLS(string configuredPassword, bool delivered)
    {
        using var receiver = await SmtpReceiver.StartAsync(_certFile, _keyFile, login: "sealpost-relay:the relay's passphrase");
        using var dns = await DnsAsync();
        using var secrets = new TempFolder("sealpost-route-secret");
        var passwordFile = secrets.Sub("relay.password");
        await File.WriteAllTextAsync(passwordFile, configuredPassword + "\n");
        var (server, time) = await StartAsync(dns, d =>
        {
            d.Routes["partner.test"] = new DeliveryRoute { Host = "mx.partner.test", Port = receiver.Port, Username = "sealpost-relay", PasswordFile = passwordFile };
            d.TestTrustedRootsFile = _caFile;
        });
        await using (server)
        {
            await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, time).RunOnceAsync(CancellationToken.None);
            if (delivered)
            {
                var message = Assert.Single(receiver.Messages);
                Assert.Equal("sealpost-relay", message.Headers["X-Receiver-Auth"]);
                Assert.Equal("yes", message.Headers["X-Receiver-Tls"]);
            }
            else
            {
                Assert.Empty(receiver.Messages);
                // A refused login is our configuration's fault, not the message's: kept and retried (451), not bounced.
                var reply = await LastReplyAsync(server);
                Assert.StartsWith("451 4.7.0", reply);
                Assert.Contains("refused our AUTH", reply);
            }
        }
    }
}
