using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>SELECT and EXAMINE (RFC 9051 §6.3.2-3, RFC 3501 for rev1).</summary>
public sealed class SelectTests : ImapTestBase
{
    [Fact]
    public async Task Select_reports_the_mailbox_state_rev1_and_rev2()
    {
        await DeliverAsync(Message("one"), flags: Sealpost.Core.Mail.MessageFlags.Seen);
        await DeliverAsync(Message("two"));
        await using var raw = await LoginAsync();
        var rev1 = Lines(await raw.CommandAsync("a SELECT inbox"));
        Assert.Equal("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", rev1[0]);
        Assert.Equal("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted", rev1[1]);
        Assert.Equal("* 2 EXISTS", rev1[2]);
        Assert.Equal("* 2 RECENT", rev1[3]); // this session is the first to see both
        Assert.Equal("* OK [UNSEEN 2] First unseen message", rev1[4]);
        Assert.Matches(@"^\* OK \[UIDVALIDITY \d+\] UIDs valid$", rev1[5]);
        Assert.Equal("* OK [UIDNEXT 3] Predicted next UID", rev1[6]);
        Assert.Matches(@"^\* OK \[HIGHESTMODSEQ \d+\] Highest$", rev1[7]);
        Assert.Equal("a OK [READ-WRITE] SELECT completed", rev1[^1]);

        await raw.CommandAsync("b ENABLE IMAP4rev2");
        var rev2 = Lines(await raw.CommandAsync("c EXAMINE Inbox"));
        Assert.Equal("* OK [CLOSED] Previous mailbox closed", rev2[0]);
        Assert.DoesNotContain(rev2, l => l.Contains("RECENT") || l.Contains("[UNSEEN"));
        Assert.Contains("* OK [PERMANENTFLAGS ()] Read-only mailbox", rev2);
        Assert.Contains("* LIST () \"/\" INBOX", rev2); // the canonical name of "Inbox"
        Assert.Equal("c OK [READ-ONLY] EXAMINE completed", rev2[^1]);
        Assert.Equal("d NO [READ-ONLY] Mailbox is read-only\r\n", await raw.CommandAsync("d STORE 1 +FLAGS (\\Seen)"));
        Assert.Equal("* OK [CLOSED] Previous mailbox closed\r\ne NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("e SELECT Nowhere"));
        Assert.Equal("f BAD No mailbox selected\r\n", await raw.CommandAsync("f FETCH 1 FLAGS")); // a failed SELECT deselects
    }
}
