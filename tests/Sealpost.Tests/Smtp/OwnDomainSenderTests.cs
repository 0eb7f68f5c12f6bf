using System.Text;
using Sealpost.Mime.Dkim;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>
/// Port 25 mail that claims one of our own domains as its sender (envelope, From or Sender) is
/// refused unless it comes from a trusted relay or carries a passing DKIM signature aligned with
/// that domain (Smtp:OwnDomainSenders, default refuse); our users send through submission.
/// </summary>
public sealed class OwnDomainSenderTests
{
    private static async Task<string> SendAsync(TestServer server, string mailFrom, string headers, byte[]? raw = null)
    {
        await using var smtp = await SmtpRaw.ConnectAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO outside.example");
        Assert.StartsWith("250", await smtp.CommandAsync($"MAIL FROM:<{mailFrom}>"));
        Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        await smtp.SendAsync(raw ?? Encoding.ASCII.GetBytes(headers + "To: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n"));
        return await smtp.CommandAsync(".");
    }

    public static TheoryData<string, string, string> Claims() => new()
    {
        { "envelope sender is ours", "alice@example.test", "From: someone@outside.example\r\n" },
        { "From header is ours", "someone@outside.example", "From: alice@example.test\r\n" },
        { "Sender header is ours", "someone@outside.example", "From: someone@outside.example\r\nSender: <ALICE@EXAMPLE.TEST>\r\n" },
    };

    [Theory]
    [MemberData(nameof(Claims))]
    public async Task A_claim_of_our_domain_from_outside_is_refused(string claim, string mailFrom, string headers)
    {
        await using var server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        var reply = await SendAsync(server, mailFrom, headers);
        Assert.True(reply.StartsWith("550 5.7.1", StringComparison.Ordinal), $"{claim}: {reply}");
        Assert.Contains("claims to be from our domain example.test", reply);
    }

    [Fact]
    public async Task Mail_from_other_domains_is_accepted()
    {
        await using var server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        Assert.StartsWith("250", await SendAsync(server, "someone@outside.example", "From: someone@outside.example\r\n"));
    }

    [Fact]
    public async Task A_trusted_relay_may_send_as_our_domain()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Delivery.Enabled = false;
            o.Smtp.TrustedRelays.Add("127.0.0.0/8");
        });
        Assert.StartsWith("250", await SendAsync(server, "alice@example.test", "From: alice@example.test\r\n"));
    }

    [Fact]
    public async Task The_policy_can_be_turned_off()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Delivery.Enabled = false;
            o.Smtp.OwnDomainSenders = "accept";
        });
        Assert.StartsWith("250", await SendAsync(server, "alice@example.test", "From: alice@example.test\r\n"));
    }

    [Fact]
    public async Task A_passing_DKIM_signature_of_our_domain_is_enough()
    {
        var key = DkimKey.Create("example.test", "k1", "ed25519", DateTimeOffset.UtcNow);
        using var dns = await DnsServer.StartAsync($"--txt-record={key.DnsName},{key.DnsRecord}");
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Delivery.Enabled = false;
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
        });
        var message = Encoding.ASCII.GetBytes("From: alice@example.test\r\nTo: bob@example.test\r\nSubject: signed elsewhere\r\n\r\nhello\r\n");
        var signed = DkimMessageSigner.Sign(message, key);
        Assert.StartsWith("250", await SendAsync(server, "someone@outside.example", "", signed));

        // The same message altered in transit no longer passes.
        var altered = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(signed).Replace("hello", "hullo", StringComparison.Ordinal));
        Assert.StartsWith("550 5.7.1", await SendAsync(server, "someone@outside.example", "", altered));
    }
}
