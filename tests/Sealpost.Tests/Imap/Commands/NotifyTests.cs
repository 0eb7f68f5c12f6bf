using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>NOTIFY (RFC 5465): events without NOOP or IDLE, for the selected mailbox and the personal namespace.</summary>
public sealed class NotifyTests : ImapTestBase
{
    [Fact]
    public async Task Events_arrive_between_commands()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("r ENABLE IMAP4rev2");
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("b OK NOTIFY completed\r\n", await raw.CommandAsync(
            "b NOTIFY SET (SELECTED (MessageNew (FLAGS ENVELOPE) MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))"));

        // New mail in the selected mailbox: EXISTS, then FETCH with the requested attributes, unasked.
        await DeliverAsync(Message("pushed"));
        Assert.Equal("* 1 EXISTS", await raw.LineAsync());
        var fetch = await raw.LineAsync();
        Assert.StartsWith("* 1 FETCH (UID 1 FLAGS () ENVELOPE (", fetch);
        Assert.Contains("\"pushed\"", fetch);

        // New mail elsewhere: STATUS.
        await DeliverAsync(Message("archived"), role: MailboxRole.Archive);
        Assert.Matches(@"^\* STATUS Archive \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)$", await raw.LineAsync());

        // Another session's folder work: LIST events.
        await using (var other = await LoginAsync())
        {
            await other.CommandAsync("o1 CREATE Projects");
            Assert.Equal("* LIST () \"/\" Projects", await raw.LineAsync());
            await other.CommandAsync("o2 RENAME Projects Done");
            Assert.Equal("* LIST () \"/\" Done (\"OLDNAME\" (Projects))", await raw.LineAsync());
            await other.CommandAsync("o3 SUBSCRIBE Done");
            Assert.Equal("* LIST (\\Subscribed) \"/\" Done", await raw.LineAsync());
            await other.CommandAsync("o4 DELETE Done");
            Assert.Equal("* LIST (\\NonExistent) \"/\" Done", await raw.LineAsync());
            await other.CommandAsync("o5 SELECT INBOX");
            await other.CommandAsync("o6 STORE 1 +FLAGS (\\Flagged)");
            Assert.Equal("* 1 FETCH (UID 1 FLAGS (\\Flagged))", await raw.LineAsync());
            await other.CommandAsync("o7 STORE 1 +FLAGS.SILENT (\\Deleted)");
            await other.CommandAsync("o8 EXPUNGE");
            Assert.Equal("* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted))", await raw.LineAsync());
            Assert.Equal("* 1 EXPUNGE", await raw.LineAsync());
        }

        Assert.Equal("c OK NOTIFY completed\r\n", await raw.CommandAsync("c NOTIFY NONE"));
        await DeliverAsync(Message("quiet"), role: MailboxRole.Archive);
        await DeliverAsync(Message("quiet too"));
        // Nothing pushed now: the next thing on the wire is the answer to NOOP (which reports the INBOX change itself).
        Assert.Equal("* 1 EXISTS\r\nd OK NOOP completed\r\n", await raw.CommandAsync("d NOOP"));
    }

    [Fact]
    public async Task Set_status_and_bad_requests()
    {
        await DeliverAsync(Message("one"));
        await using var raw = await LoginAsync();
        var status = Lines(await raw.CommandAsync("a NOTIFY SET STATUS (MAILBOXES (INBOX Archive) (MessageNew MessageExpunge FlagChange))"));
        Assert.Matches(@"^\* STATUS Archive \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0\)$", status[0]);
        Assert.Matches(@"^\* STATUS INBOX \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)$", status[1]);
        Assert.Equal("a OK NOTIFY completed", status[2]);
        Assert.Equal("b BAD MessageNew and MessageExpunge must be given together, and FlagChange needs them\r\n", await raw.CommandAsync("b NOTIFY SET (SELECTED (MessageNew))"));
        Assert.Equal("c NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported event AnnotationChange\r\n",
            await raw.CommandAsync("c NOTIFY SET (PERSONAL (AnnotationChange))"));
        Assert.Equal("d BAD Unknown NOTIFY filter EVERYTHING\r\n", await raw.CommandAsync("d NOTIFY SET (EVERYTHING (MessageNew MessageExpunge))"));
        Assert.Equal("e BAD Mailbox events do not apply to SELECTED\r\n", await raw.CommandAsync("e NOTIFY SET (SELECTED (MailboxName))"));
    }
}
