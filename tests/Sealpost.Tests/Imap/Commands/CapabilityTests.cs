using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>CAPABILITY (RFC 9051 §6.1.1) before and after login and TLS.</summary>
public sealed class CapabilityTests : ImapTestBase
{
    [Fact]
    public async Task Greeting_and_capability_before_login()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        var greeting = await raw.GreetingAsync();
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS AUTH=PLAIN", greeting);
        var reply = await raw.CommandAsync("a CAPABILITY");
        Assert.Contains("* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS", reply);
        Assert.Contains(" IDLE ", reply);
        Assert.Contains("a OK CAPABILITY completed", reply);
        Assert.Equal("b OK NOOP completed\r\n", await raw.CommandAsync("b NOOP"));
        Assert.Equal("* BYE Sealpost logging out\r\nc OK LOGOUT completed\r\n", await raw.CommandAsync("c LOGOUT"));
        Assert.True(await raw.ClosedAsync());
    }
}
