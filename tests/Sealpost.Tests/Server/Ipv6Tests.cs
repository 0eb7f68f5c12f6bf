using System.Net;
using System.Net.Sockets;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>Listeners on IPv6 loopback ([::1]): sessions work, and the client's address is written as IPv6 where it shows.</summary>
public sealed class Ipv6Tests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Imap.Listen.Add("[::1]:0");
        o.Smtp.InboundListen.Add("[::1]:0");
        o.Imap.AllowPlaintextAuthOnLoopback = true;
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private IPEndPoint Imap6 => _server.Server.ImapEndpoints.First(e => e.Kind == ImapListenerKind.StartTls && e.EndPoint.AddressFamily == AddressFamily.InterNetworkV6).EndPoint;

    private IPEndPoint Smtp6 => _server.Server.SmtpEndpoints.First(e => e.Kind == SmtpListenerKind.Inbound && e.EndPoint.AddressFamily == AddressFamily.InterNetworkV6).EndPoint;

    [Fact]
    public async Task Imap_logs_in_over_ipv6()
    {
        await using var raw = await ImapRaw.ConnectAsync(Imap6);
        Assert.StartsWith("* OK", await raw.GreetingAsync());
        Assert.Contains("a OK", await raw.CommandAsync("a LOGIN alice@example.test alice-dev-password"));
        Assert.Contains("::1", _server.Logs.ToString());
    }

    [Fact]
    public async Task Smtp_delivers_over_ipv6_with_an_ipv6_address_literal_in_received()
    {
        await using (var smtp = await SmtpRaw.ConnectAsync(Smtp6))
        {
            Assert.StartsWith("220", await smtp.ReplyAsync());
            await smtp.CommandAsync("EHLO client6.example");
            Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<someone@remote.example>"));
            Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<bob@example.test>"));
            Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
            Assert.StartsWith("250", await smtp.CommandAsync("Subject: over six\r\n\r\nhello\r\n."));
        }

        await using var raw = await ImapRaw.ConnectAsync(_server.Server.ImapEndpoint(ImapListenerKind.StartTls));
        await raw.GreetingAsync();
        await raw.CommandAsync("a LOGIN bob@example.test bob-dev-password");
        await raw.CommandAsync("b SELECT INBOX");
        var received = await raw.CommandAsync("c FETCH * BODY.PEEK[HEADER.FIELDS (RECEIVED)]");
        Assert.Contains("from client6.example ([IPv6:::1]) by ", received); // RFC 5321 §4.1.3 address literal
    }
}

/// <summary>How a client's address is written, one case per row.</summary>
public sealed class ClientEndpointTests
{
    [Theory]
    [InlineData("192.0.2.1", "[192.0.2.1]")]
    [InlineData("2001:db8::1", "[IPv6:2001:db8::1]")]
    [InlineData("::1", "[IPv6:::1]")]
    [InlineData("::ffff:192.0.2.7", "[192.0.2.7]")]
    public void Address_literal(string address, string expected) =>
        Assert.Equal(expected, Sealpost.Connections.ClientEndpoint.AddressLiteral(IPAddress.Parse(address)));

    [Theory]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("192.0.2.1", "192.0.2.1")]
    public void A_dual_stack_ipv4_client_is_an_ipv4_client(string address, string expected) =>
        Assert.Equal(expected, Sealpost.Connections.ClientEndpoint.Normalise(new IPEndPoint(IPAddress.Parse(address), 25))!.Address.ToString());
}
