using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>STORE (RFC 9051 §6.4.6) with keywords and UNCHANGEDSINCE (RFC 7162).</summary>
public sealed class StoreTests : ImapTestBase
{
    [Fact]
    public async Task Store_flags_and_keywords()
    {
        await DeliverAsync(Message("one"));
        await DeliverAsync(Message("two"));
        await SeenByAnotherSessionAsync();
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS (\\Seen))\r\nb OK STORE completed\r\n", await raw.CommandAsync("b STORE 1:* +FLAGS (\\Seen)"));
        Assert.EndsWith("\r\n* 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen $Important))\r\nc OK STORE completed\r\n", await raw.CommandAsync("c UID STORE 2 +FLAGS (\\Flagged $Important)")); // after FLAGS naming the new keyword
        Assert.Equal("d OK STORE completed\r\n", await raw.CommandAsync("d STORE 2 -FLAGS.SILENT ($important)"));
        Assert.Equal("* 1 FETCH (FLAGS (\\Answered))\r\ne OK STORE completed\r\n", await raw.CommandAsync("e STORE 1 FLAGS \\Answered \\Recent"));
        Assert.Equal("* 1 FETCH (FLAGS (\\Answered))\r\n* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\nf OK FETCH completed\r\n", await raw.CommandAsync("f FETCH 1:2 FLAGS"));
        var select = await raw.CommandAsync("g SELECT INBOX");
        Assert.Contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)", select);
        Assert.Matches(@"^\* OK \[HIGHESTMODSEQ \d+\] Highest\r\nh OK \[MODIFIED 1:2\]", await raw.CommandAsync("h STORE 1,2 (UNCHANGEDSINCE 1) +FLAGS (\\Draft)"));
        Assert.DoesNotContain("Draft", await raw.CommandAsync("i FETCH 1:2 FLAGS"));
    }

    /// <summary>RFC 9051 §7.3.5: a new keyword is announced with FLAGS (and PERMANENTFLAGS) before any FETCH shows it, in every session with the mailbox selected.</summary>
    [Fact]
    public async Task A_new_keyword_is_announced_before_it_is_used()
    {
        await DeliverAsync(Message("one"));
        await SeenByAnotherSessionAsync();
        await using var setter = await LoginAsync();
        await using var watcher = await LoginAsync();
        await setter.CommandAsync("a SELECT INBOX");
        await watcher.CommandAsync("a SELECT INBOX");

        var stored = Lines(await setter.CommandAsync("b STORE 1 +FLAGS ($Label1)"));
        Assert.Equal("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)", stored[0]);
        Assert.Equal("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted", stored[1]);
        Assert.Equal("* 1 FETCH (FLAGS ($Label1))", stored[2]);

        var told = Lines(await watcher.CommandAsync("b NOOP"));
        Assert.Equal("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)", told[0]);
        Assert.StartsWith("* OK [PERMANENTFLAGS (", told[1]);
        Assert.Equal("* 1 FETCH (UID 1 FLAGS ($Label1))", told[2]);

        Assert.DoesNotContain("* FLAGS", await setter.CommandAsync("c STORE 1 -FLAGS ($Label1)")); // known now: not again
    }

    /// <summary>RFC 9051 §6.4.6: without .SILENT each message of the set is answered with its flags, whether this STORE changed them or not.</summary>
    [Fact]
    public async Task A_store_that_changes_some_messages_reports_the_flags_of_every_message_it_names()
    {
        await DeliverAsync(Message("one"));
        await DeliverAsync(Message("two"));
        await SeenByAnotherSessionAsync();
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        await raw.CommandAsync("b STORE 2 +FLAGS.SILENT (\\Flagged $Work)");

        Assert.Equal(
            "* 1 FETCH (UID 1 FLAGS (\\Flagged))\r\n* 2 FETCH (UID 2 FLAGS (\\Flagged $Work))\r\nc OK STORE completed\r\n",
            await raw.CommandAsync("c UID STORE 1:9 +FLAGS (\\Flagged)"));
    }
}
