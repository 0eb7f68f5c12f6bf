using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>ENABLE (RFC 5161) of IMAP4rev2 and UTF8=ACCEPT (RFC 6855).</summary>
public sealed class EnableTests : ImapTestBase
{
    [Fact]
    public async Task Enable_reports_only_what_it_newly_enabled()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("* ENABLED IMAP4rev2\r\na OK ENABLE completed\r\n", await raw.CommandAsync("a ENABLE IMAP4rev2 X-UNKNOWN"));
        Assert.Equal("* ENABLED\r\nb OK ENABLE completed\r\n", await raw.CommandAsync("b ENABLE IMAP4rev2"));
        Assert.Equal("c BAD ENABLE needs at least one capability\r\n", await raw.CommandAsync("c ENABLE"));
        await raw.CommandAsync("d SELECT INBOX");
        Assert.Equal("e BAD UTF8=ACCEPT must be enabled before SELECT\r\n", await raw.CommandAsync("e ENABLE UTF8=ACCEPT"));
        await using var before = await ImapRaw.ConnectAsync(Plain);
        await before.GreetingAsync();
        Assert.Equal("f BAD Log in first\r\n", await before.CommandAsync("f ENABLE IMAP4rev2"));
    }
}
