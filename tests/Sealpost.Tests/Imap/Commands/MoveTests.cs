using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>MOVE and UID MOVE (RFC 6851): COPYUID before the EXPUNGEs, in one transaction.</summary>
public sealed class MoveTests : ImapTestBase
{
    [Fact]
    public async Task Move_expunges_from_the_source()
    {
        for (var i = 1; i <= 5; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Matches(@"^\* OK \[COPYUID \d+ 3 1\] Moved\r\n\* 3 EXPUNGE\r\nb OK MOVE completed\r\n$", await raw.CommandAsync("b MOVE 3 Archive"));
        Assert.Matches(@"^\* OK \[COPYUID \d+ 4:5 2:3\] Moved\r\n\* 3 EXPUNGE\r\n\* 3 EXPUNGE\r\nc OK MOVE completed\r\n$", await raw.CommandAsync("c UID MOVE 4:5 Archive"));
        Assert.Equal("d NO [TRYCREATE] No such mailbox\r\n", await raw.CommandAsync("d MOVE 1 Nowhere"));
        await raw.CommandAsync("e EXAMINE INBOX");
        Assert.Equal("f NO [READ-ONLY] Mailbox is read-only\r\n", await raw.CommandAsync("f MOVE 1 Archive"));
        Assert.Contains("(MESSAGES 3)", await raw.CommandAsync("g STATUS Archive (MESSAGES)"));
    }
}
