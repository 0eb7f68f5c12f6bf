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
        Assert.Equal("* 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen $Important))\r\nc OK STORE completed\r\n", await raw.CommandAsync("c UID STORE 2 +FLAGS (\\Flagged $Important)"));
        Assert.Equal("d OK STORE completed\r\n", await raw.CommandAsync("d STORE 2 -FLAGS.SILENT ($important)"));
        Assert.Equal("* 1 FETCH (FLAGS (\\Answered))\r\ne OK STORE completed\r\n", await raw.CommandAsync("e STORE 1 FLAGS \\Answered \\Recent"));
        Assert.Equal("* 1 FETCH (FLAGS (\\Answered))\r\n* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\nf OK FETCH completed\r\n", await raw.CommandAsync("f FETCH 1:2 FLAGS"));
        var select = await raw.CommandAsync("g SELECT INBOX");
        Assert.Contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)", select);
        Assert.Matches(@"^\* OK \[HIGHESTMODSEQ \d+\] Highest\r\nh OK \[MODIFIED 1:2\]", await raw.CommandAsync("h STORE 1,2 (UNCHANGEDSINCE 1) +FLAGS (\\Draft)"));
        Assert.DoesNotContain("Draft", await raw.CommandAsync("i FETCH 1:2 FLAGS"));
    }
}
