using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// Throttling without locking the owner out, over the wire: behind a load balancer (PROXY v2 names each
/// client's address), a guesser elsewhere exhausts the account's failure limit; the owner's address,
/// which logged in before, still logs in, and a new address is refused.
/// </summary>
public sealed class FamiliarAddressTests
{
    private static async Task<string> LoginAsync(TestServer server, string clientAddress, string password)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(Sealpost.Imap.ImapListenerKind.ImplicitTls).Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Sealpost.Tests.Smtp.ProxyProtocolTests.V4Header(clientAddress, 40000));
        await using var tls = new SslStream(stream, false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        using var reader = new StreamReader(tls, Encoding.ASCII);
        await reader.ReadLineAsync(); // greeting
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"a LOGIN alice@example.test \"{password}\"\r\n"));
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("a ", StringComparison.Ordinal))
            {
                return line;
            }
        }

        return "(closed)";
    }

    [Fact]
    public async Task The_implicit_tls_port_reads_the_load_balancers_header_before_the_handshake()
    {
        await using var server = await TestServer.StartAsync(o => o.Imap.ProxyProtocol = true);
        Assert.StartsWith("a OK", await LoginAsync(server, "198.51.100.7", "alice-dev-password"));
        var audit = await server.Server.Runtime.Audit.Store.SearchAsync(new Sealpost.Core.Audit.AuditQuery(Action: Sealpost.Core.Audit.AuditAction.LoginSucceeded));
        Assert.Contains(audit, r => r.Event.Source == "198.51.100.7");
    }

    [Fact]
    public async Task A_guesser_elsewhere_does_not_lock_the_owner_out_of_an_address_they_use()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Imap.ProxyProtocol = true;
            o.Limits.MaxAuthFailuresPerAccount = 3;
        });
        Assert.StartsWith("a OK", await LoginAsync(server, "198.51.100.7", "alice-dev-password")); // the owner's laptop, earlier
        foreach (var guesser in new[] { "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4" })
        {
            Assert.StartsWith("a NO", await LoginAsync(server, guesser, "guess-" + guesser));
        }

        // A new address is refused without its password being checked; the owner's address is not.
        Assert.Contains("UNAVAILABLE", await LoginAsync(server, "192.0.2.50", "alice-dev-password"));
        Assert.StartsWith("a OK", await LoginAsync(server, "198.51.100.7", "alice-dev-password"));
    }
}
