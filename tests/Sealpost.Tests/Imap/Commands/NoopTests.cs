using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>NOOP and CHECK (RFC 9051 §6.1.2, RFC 3501 §6.4.1): both report pending changes.</summary>
public sealed class NoopTests : ImapTestBase
{
    [Fact]
    public async Task Noop_and_check_report_new_mail()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK NOOP completed\r\n", await raw.CommandAsync("a NOOP"));
        await raw.CommandAsync("b SELECT INBOX");
        await DeliverAsync(Message("new"));
        Assert.Equal("* 1 EXISTS\r\n* 1 RECENT\r\nc OK NOOP completed\r\n", await raw.CommandAsync("c NOOP"));
        await DeliverAsync(Message("newer"));
        Assert.Equal("* 2 EXISTS\r\n* 2 RECENT\r\nd OK NOOP completed\r\n", await raw.CommandAsync("d CHECK"));
        Assert.Equal("e BAD Unexpected characters at the end of the command\r\n", await raw.CommandAsync("e NOOP now"));
    }
}
