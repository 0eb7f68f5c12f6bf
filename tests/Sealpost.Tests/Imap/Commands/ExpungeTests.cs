using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).</summary>
public sealed class ExpungeTests : ImapTestBase
{
    [Fact]
    public async Task Expunge_removes_deleted_messages_only()
    {
        for (var i = 1; i <= 4; i++)
        {
            await DeliverAsync(Message("m" + i), flags: i == 4 ? MessageFlags.None : MessageFlags.Deleted);
        }

        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("* 2 EXPUNGE\r\nb OK EXPUNGE completed\r\n", await raw.CommandAsync("b UID EXPUNGE 2,4"));
        Assert.Equal("* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nc OK EXPUNGE completed\r\n", await raw.CommandAsync("c EXPUNGE"));
        Assert.Equal("* 1 FETCH (UID 4)\r\nd OK FETCH completed\r\n", await raw.CommandAsync("d FETCH 1:* UID"));
        Assert.Equal("e OK EXPUNGE completed\r\n", await raw.CommandAsync("e EXPUNGE"));
        await raw.CommandAsync("f EXAMINE INBOX");
        Assert.Equal("g NO [READ-ONLY] Mailbox is read-only\r\n", await raw.CommandAsync("g EXPUNGE"));
    }
}
