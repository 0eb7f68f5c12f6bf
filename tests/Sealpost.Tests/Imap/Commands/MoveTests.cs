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

    /// <summary>RFC 6851 §3.3 lets the target be the selected mailbox: the message gets a new UID and the old one is expunged.</summary>
    [Fact]
    public async Task Move_into_the_selected_mailbox_renumbers_the_message()
    {
        await DeliverAsync(Message("m1"));
        await DeliverAsync(Message("m2"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a ENABLE IMAP4rev2");
        await raw.CommandAsync("b SELECT INBOX");

        var moved = Lines(await raw.CommandAsync("c MOVE 1 INBOX"));

        Assert.Matches(@"^\* OK \[COPYUID \d+ 1 3\] Moved$", moved[0]);
        Assert.Equal(["* 1 EXPUNGE", "* 2 EXISTS", "c OK MOVE completed"], moved[1..]);
        Assert.Equal("* 1 FETCH (UID 2)\r\n* 2 FETCH (UID 3)\r\nd OK FETCH completed\r\n", await raw.CommandAsync("d FETCH 1:* (UID)"));
    }
}
