using Sealpost.Connections;
using System.Buffers;
using System.Net;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

public sealed class ProxyProtocolTests
{
    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static byte[] V4Header(string source, ushort port) =>
        [.. Signature, 0x21, 0x11, 0x00, 0x0C, .. IPAddress.Parse(source).GetAddressBytes(), 127, 0, 0, 1, (byte)(port >> 8), (byte)port, 0, 25];

    [Fact]
    public void Ipv4_ipv6_and_local_headers_parse()
    {
        Assert.Equal(ProxyProtocol.Status.Parsed, ProxyProtocol.TryParse(new ReadOnlySequence<byte>([.. V4Header("203.0.113.7", 40000), .. "EHLO"u8]), out var consumed, out var source, out _));
        Assert.Equal(28, consumed);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40000), source);

        byte[] v6 = [.. Signature, 0x21, 0x21, 0x00, 0x24, .. IPAddress.Parse("2001:db8::1").GetAddressBytes(), .. IPAddress.IPv6Loopback.GetAddressBytes(), 0x01, 0xBB, 0x00, 0x19];
        Assert.Equal(ProxyProtocol.Status.Parsed, ProxyProtocol.TryParse(new ReadOnlySequence<byte>(v6), out _, out source, out _));
        Assert.Equal(IPAddress.Parse("2001:db8::1"), source!.Address);

        Assert.Equal(ProxyProtocol.Status.Parsed, ProxyProtocol.TryParse(new ReadOnlySequence<byte>([.. Signature, 0x20, 0x00, 0x00, 0x00]), out consumed, out source, out _));
        Assert.Equal(16, consumed);
        Assert.Null(source);
    }

    [Fact]
    public void Partial_and_hostile_headers_are_told_apart()
    {
        var full = V4Header("203.0.113.7", 1);
        for (var n = 0; n < full.Length; n++)
        {
            Assert.Equal(ProxyProtocol.Status.NeedMoreData, ProxyProtocol.TryParse(new ReadOnlySequence<byte>(full[..n]), out _, out _, out _));
        }

        Assert.Equal(ProxyProtocol.Status.Invalid, ProxyProtocol.TryParse(new ReadOnlySequence<byte>("EHLO client.example\r\n"u8.ToArray()), out _, out _, out _));
        Assert.Equal(ProxyProtocol.Status.Invalid, ProxyProtocol.TryParse(new ReadOnlySequence<byte>("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"u8.ToArray()), out _, out _, out _)); // v1 text is refused
        Assert.Equal(ProxyProtocol.Status.Invalid, ProxyProtocol.TryParse(new ReadOnlySequence<byte>([.. Signature, 0x31, 0x11, 0x00, 0x00]), out _, out _, out var version));
        Assert.Contains("version", version);
        Assert.Equal(ProxyProtocol.Status.Invalid, ProxyProtocol.TryParse(new ReadOnlySequence<byte>([.. Signature, 0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4]), out _, out _, out var shortBlock));
        Assert.Contains("short", shortBlock);
    }

    [Fact]
    public async Task A_proxied_loopback_connection_gets_no_loopback_privileges_and_a_missing_header_drops_the_connection()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.ProxyProtocol = true;
            o.Smtp.AllowPlaintextAuthOnLoopback = true;
        });
        var submission = server.Server.SmtpEndpoint(SmtpListenerKind.Submission);
        await using (var proxied = await SmtpRaw.ConnectAsync(submission))
        {
            await proxied.SendAsync(V4Header("203.0.113.7", 40000));
            Assert.StartsWith("220", await proxied.ReplyAsync());
            // The real client is 203.0.113.7, not loopback: no plaintext AUTH for it, even though the socket is local.
            Assert.DoesNotContain("AUTH", await proxied.CommandAsync("EHLO client.example"));
        }

        await using var bare = await SmtpRaw.ConnectAsync(submission);
        await bare.SendAsync("EHLO no-header.example\r\n");
        Assert.True(await bare.ClosedAsync());
        Assert.Contains("PROXY header", server.Logs.ToString());
    }
}

/// <summary>Port 465 behind a load balancer: the PROXY v2 header comes in clear, before the TLS handshake.</summary>
public sealed class ImplicitTlsProxyTests
{
    [Fact]
    public async Task Submission_over_implicit_tls_reads_the_header_before_the_handshake()
    {
        await using var server = await TestServer.StartAsync(o => o.Smtp.ProxyProtocol = true);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync("127.0.0.1", server.Server.SmtpEndpoint(SmtpListenerKind.SubmissionImplicitTls).Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(ProxyProtocolTests.V4Header("198.51.100.8", 40000));
        await using var tls = new System.Net.Security.SslStream(stream, false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost" });
        using var reader = new StreamReader(tls, System.Text.Encoding.ASCII);
        Assert.StartsWith("220", await reader.ReadLineAsync());
        var auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("\0alice@example.test\0alice-dev-password"));
        await tls.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"EHLO client.example\r\nAUTH PLAIN {auth}\r\n"));
        string? line;
        do
        {
            line = await reader.ReadLineAsync();
        }
        while (line is not null && !line.StartsWith("235", StringComparison.Ordinal) && !line.StartsWith('5'));

        Assert.StartsWith("235", line);
        var logins = await server.Server.Runtime.Audit.Store.SearchAsync(new Sealpost.Core.Audit.AuditQuery(Action: Sealpost.Core.Audit.AuditAction.LoginSucceeded));
        Assert.Contains(logins, r => r.Event.Source == "198.51.100.8" && r.Event.Protocol == "submission");
    }
}
