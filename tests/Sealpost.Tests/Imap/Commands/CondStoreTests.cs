using System.Text.RegularExpressions;
using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>CONDSTORE (RFC 7162 §3.1): MODSEQ in FETCH, CHANGEDSINCE, UNCHANGEDSINCE with MODIFIED, SEARCH MODSEQ, STATUS HIGHESTMODSEQ.</summary>
public sealed class CondStoreTests : ImapTestBase
{
    [Fact]
    public async Task Modseq_everywhere_once_enabled()
    {
        for (var i = 1; i <= 3; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        await SeenByAnotherSessionAsync();
        await using var raw = await LoginAsync();
        Assert.Equal("* ENABLED CONDSTORE\r\na OK ENABLE completed\r\n", await raw.CommandAsync("a ENABLE CONDSTORE"));
        var select = await raw.CommandAsync("b SELECT INBOX");
        var highest = long.Parse(Regex.Match(select, @"HIGHESTMODSEQ (\d+)").Groups[1].Value);
        var fetch = await raw.CommandAsync("c FETCH 1:* (FLAGS)");
        Assert.Matches(@"^\* 1 FETCH \(FLAGS \(\) MODSEQ \(\d+\)\)\r\n\* 2 FETCH \(FLAGS \(\) MODSEQ \(\d+\)\)\r\n\* 3 FETCH \(FLAGS \(\) MODSEQ \(\d+\)\)\r\nc OK FETCH completed\r\n$", fetch);

        var store = await raw.CommandAsync("d STORE 2 +FLAGS (\\Seen)");
        var seenAt = long.Parse(Regex.Match(store, @"\* 2 FETCH \(FLAGS \(\\Seen\) MODSEQ \((\d+)\)\)").Groups[1].Value);
        Assert.True(seenAt > highest);
        Assert.Equal($"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ ({seenAt}))\r\ne OK FETCH completed\r\n", await raw.CommandAsync($"e UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})"));
        Assert.Equal($"f OK [MODIFIED 2] Conditional STORE failed for some messages\r\n", await raw.CommandAsync($"f STORE 2 (UNCHANGEDSINCE {highest}) +FLAGS.SILENT (\\Flagged)"));
        var conditional = await raw.CommandAsync($"g STORE 1:3 (UNCHANGEDSINCE {seenAt}) +FLAGS (\\Answered)");
        Assert.Contains("* 1 FETCH (FLAGS (\\Answered) MODSEQ (", conditional);
        Assert.Contains("* 3 FETCH (FLAGS (\\Answered) MODSEQ (", conditional);
        Assert.EndsWith("g OK STORE completed\r\n", conditional);
        Assert.Matches(@"^\* SEARCH 2 \(MODSEQ \d+\)\r\nh OK SEARCH completed\r\n$", await raw.CommandAsync($"h SEARCH MODSEQ {seenAt} SEEN"));
        Assert.Equal("* SEARCH\r\ni OK SEARCH completed\r\n", await raw.CommandAsync("i SEARCH MODSEQ 999999"));
        Assert.Matches(@"^\* ESEARCH \(TAG ""j""\) COUNT 3 MODSEQ \d+\r\nj OK SEARCH completed\r\n$", await raw.CommandAsync("j SEARCH RETURN (COUNT) MODSEQ 1"));
        Assert.Matches(@"^\* STATUS INBOX \(HIGHESTMODSEQ \d+\)\r\nk OK STATUS completed\r\n$", await raw.CommandAsync("k STATUS INBOX (HIGHESTMODSEQ)"));
    }

    [Fact]
    public async Task A_changedsince_fetch_enables_condstore_for_the_session()
    {
        await DeliverAsync(Message("m"));
        await SeenByAnotherSessionAsync();
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX (CONDSTORE)");
        await using var other = await LoginAsync();
        await other.CommandAsync("o1 SELECT INBOX");
        await other.CommandAsync("o2 STORE 1 +FLAGS (\\Flagged)");
        Assert.Matches(@"^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)\r\nb OK NOOP completed\r\n$", await raw.CommandAsync("b NOOP"));
    }

    /// <summary>RFC 7162 §3.1: the first CONDSTORE-enabling command with a mailbox selected sends HIGHESTMODSEQ, once.</summary>
    [Theory]
    [InlineData("FETCH 1 (FLAGS MODSEQ)")]
    [InlineData("FETCH 1 FLAGS (CHANGEDSINCE 1)")]
    [InlineData("SEARCH MODSEQ 1")]
    [InlineData("STATUS INBOX (HIGHESTMODSEQ)")]
    [InlineData("STORE 1 (UNCHANGEDSINCE 100000) +FLAGS (\\Seen)")]
    public async Task The_first_enabling_command_reports_highestmodseq(string command)
    {
        await DeliverAsync(Message("m"));
        await using var raw = await LoginAsync();
        var select = await raw.CommandAsync("a SELECT INBOX");
        var highest = Regex.Match(select, @"HIGHESTMODSEQ (\d+)").Groups[1].Value;

        Assert.StartsWith($"* OK [HIGHESTMODSEQ {highest}] ", await raw.CommandAsync("b " + command));
        Assert.DoesNotContain("[HIGHESTMODSEQ", await raw.CommandAsync("c " + command));
    }

    [Fact]
    public async Task A_store_that_does_not_parse_enables_nothing()
    {
        await DeliverAsync(Message("m"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.StartsWith("b BAD ", await raw.CommandAsync("b STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen"));
        Assert.DoesNotContain("MODSEQ", await raw.CommandAsync("c FETCH 1 FLAGS"));
    }

    /// <summary>RFC 7162 §3.1.5 with RFC 4731: RETURN (MIN) or (MAX) alone gives the MODSEQ of that message, ALL the highest of all.</summary>
    [Theory]
    [InlineData("MIN", 0)]
    [InlineData("MAX", 2)]
    [InlineData("ALL", 1)]
    [InlineData("MIN MAX", 2)]
    public async Task Esearch_modseq_follows_the_returned_messages(string options, int expectedIndex)
    {
        for (var i = 0; i < 3; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        await raw.CommandAsync("b STORE 2 +FLAGS.SILENT (\\Flagged)"); // message 2 now has the highest MODSEQ
        var modseqs = Regex.Matches(await raw.CommandAsync("c FETCH 1:3 (MODSEQ)"), @"MODSEQ \((\d+)\)").Select(m => m.Groups[1].Value).ToArray();

        var esearch = await raw.CommandAsync($"d SEARCH RETURN ({options}) MODSEQ 1");

        Assert.Contains($" MODSEQ {modseqs[expectedIndex]}\r\n", esearch);
    }
}
