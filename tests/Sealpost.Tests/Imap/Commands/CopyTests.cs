using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>COPY and UID COPY with COPYUID (RFC 9051 §6.4.7, RFC 4315).</summary>
public sealed class CopyTests : ImapTestBase
{
    [Fact]
    public async Task Copy_keeps_the_source_and_reports_uids()
    {
        for (var i = 1; i <= 3; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Matches(@"^b OK \[COPYUID \d+ 1:2 1:2\] COPY completed\r\n$", await raw.CommandAsync("b COPY 1:2 Archive"));
        Assert.Matches(@"^c OK \[COPYUID \d+ 3 3\] COPY completed\r\n$", await raw.CommandAsync("c UID COPY 3 Archive"));
        Assert.Equal("d NO [TRYCREATE] No such mailbox\r\n", await raw.CommandAsync("d COPY 1 Nowhere"));
        Assert.Equal("e BAD Message sequence number out of range\r\n", await raw.CommandAsync("e COPY 9 Archive"));
        Assert.Equal("f OK COPY completed\r\n", await raw.CommandAsync("f UID COPY 9 Archive"));
        Assert.Contains("(MESSAGES 3)", await raw.CommandAsync("g STATUS Archive (MESSAGES)"));
        Assert.Contains("(MESSAGES 3)", await raw.CommandAsync("h STATUS INBOX (MESSAGES)"));
    }
}
