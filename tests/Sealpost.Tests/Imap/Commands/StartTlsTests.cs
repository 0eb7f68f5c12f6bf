using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>STARTTLS (RFC 9051 §6.2.1): LOGINDISABLED before TLS, injection refused.</summary>
public sealed class StartTlsTests : ImapTestBase
{
    [Fact]
    public async Task Without_tls_a_non_loopback_login_is_disabled()
    {
        await using var server = await TestServer.StartAsync(); // no loopback exemption
        await using var raw = await ImapRaw.ConnectAsync(server.Server.ImapEndpoint(Sealpost.Imap.ImapListenerKind.StartTls));
        Assert.Contains("LOGINDISABLED", await raw.GreetingAsync());
        Assert.StartsWith("a NO [PRIVACYREQUIRED]", await raw.CommandAsync($"a LOGIN {Alice} {AlicePassword}"));
        Assert.StartsWith("b OK Begin TLS", await raw.CommandAsync("b STARTTLS"));
        await raw.StartTlsAsync();
        var caps = await raw.CommandAsync("c CAPABILITY");
        Assert.DoesNotContain("STARTTLS", caps);
        Assert.DoesNotContain("LOGINDISABLED", caps);
        Assert.Contains("AUTH=PLAIN", caps);
        Assert.Contains("d OK [CAPABILITY", await raw.CommandAsync($"d LOGIN {Alice} {AlicePassword}"));
    }

    [Fact]
    public async Task Commands_pipelined_after_starttls_are_refused()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        await raw.SendAsync($"a STARTTLS\r\nb LOGIN {Alice} {AlicePassword}\r\n");
        Assert.StartsWith("a BAD Commands pipelined after STARTTLS", await raw.UntilTaggedAsync("a"));
        Assert.True(await raw.ClosedAsync());
    }
}
