using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>
/// SORT (RFC 5256 §3, RFC 5957, RFC 5267) and THREAD (RFC 5256 §4) against a corpus with tricky
/// subjects (Re:/Fwd:/[tags], encoded words, case) and reference chains, with hand-checked orders.
/// </summary>
public sealed class SortThreadTests : ImapTestBase
{
    // seq: subject | from | Date | Message-ID | References | body size
    private static readonly (string Subject, string From, string Date, string Id, string? Refs, int Body)[] Corpus =
    [
        ("Fwd: Lunch", "Carol <carol@example.org>", "Wed, 04 Nov 2026 09:00:00 +0000", "e@x", null, 700),
        ("[finance] Re: budget 2027", "=?utf-8?q?=C3=89mile?= <emile@example.org>", "Tue, 03 Nov 2026 08:00:00 +0000", "c@x", "<a@x> <b@x>", 300),
        ("=?utf-8?b?w4l0w6k=?=", "=?utf-8?q?=C3=89mile?= <emile@example.org>", "Fri, 30 Oct 2026 07:00:00 +0000", "g@x", null, 400),
        ("Budget 2027", "Zed <zed@example.org>", "Mon, 02 Nov 2026 09:00:00 +0000", "a@x", null, 500),
        ("Lunch", "Bob <bob@example.test>", "Sun, 01 Nov 2026 12:00:00 +0000", "d@x", null, 50),
        ("Re: Budget 2027", "alice@example.test", "Mon, 02 Nov 2026 10:00:00 +0000", "b@x", "<a@x>", 100),
        ("Re: Missing parent", "Dave <dave@example.org>", "Sat, 31 Oct 2026 08:00:00 +0000", "f@x", "<zz@x>", 200),
    ];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var arrival = new DateTimeOffset(2026, 11, 10, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < Corpus.Length; i++)
        {
            var (subject, from, date, id, refs, body) = Corpus[i];
            var references = refs is null ? "" : $"References: {refs}\r\nIn-Reply-To: {refs.Split(' ')[^1]}\r\n";
            await DeliverAsync($"From: {from}\r\nTo: alice@example.test\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\n{references}\r\n{new string('x', body)}\r\n",
                date: arrival.AddMinutes(i));
        }
    }

    [Theory]
    [InlineData("(ARRIVAL)", "1 2 3 4 5 6 7")]
    [InlineData("(DATE)", "3 7 5 4 6 2 1")]
    [InlineData("(REVERSE DATE)", "1 2 6 4 5 7 3")]
    [InlineData("(SIZE)", "5 6 7 2 3 4 1")]
    [InlineData("(SUBJECT)", "2 4 6 1 5 7 3")]
    [InlineData("(SUBJECT REVERSE DATE)", "2 6 4 1 5 7 3")]
    [InlineData("(FROM)", "6 5 1 7 2 3 4")]
    [InlineData("(DISPLAYFROM)", "6 5 1 7 4 2 3")]
    [InlineData("(TO DATE)", "3 7 5 4 6 2 1")]
    public async Task Sort_orders(string criteria, string expected)
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal($"* SORT {expected}\r\nb OK SORT completed\r\n", await raw.CommandAsync($"b SORT {criteria} UTF-8 ALL"));
    }

    [Fact]
    public async Task Sort_with_search_criteria_uid_and_esort()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("* SORT 4 6 2\r\nb OK SORT completed\r\n", await raw.CommandAsync("b UID SORT (DATE) UTF-8 SUBJECT budget"));
        Assert.Equal("* SORT 3\r\nc OK SORT completed\r\n", await raw.CommandAsync("c SORT (DATE) UTF-8 SUBJECT \"été\""));
        Assert.Equal("* ESEARCH (TAG \"d\") UID MIN 3 MAX 1 COUNT 7\r\nd OK SORT completed\r\n", await raw.CommandAsync("d UID SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL"));
        Assert.Equal("* ESEARCH (TAG \"e\") PARTIAL (2:3 7,5)\r\ne OK SORT completed\r\n", await raw.CommandAsync("e SORT RETURN (PARTIAL 2:3) (DATE) UTF-8 ALL"));
        Assert.Equal("* ESEARCH (TAG \"f\") ALL 3,7,5,4,6,2,1\r\nf OK SORT completed\r\n", await raw.CommandAsync("f SORT RETURN (ALL) (DATE) UTF-8 ALL"));
        Assert.Equal("g BAD Unknown sort key\r\n", await raw.CommandAsync("g SORT (COLOUR) UTF-8 ALL"));
        Assert.Equal("h NO [BADCHARSET (UTF-8 US-ASCII)] Supported charsets: UTF-8, US-ASCII\r\n", await raw.CommandAsync("h SORT (DATE) KOI8-R ALL"));
    }

    [Fact]
    public async Task Thread_by_ordered_subject_and_by_references()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("* THREAD (3)(7)(5 1)(4 (6)(2))\r\nb OK THREAD completed\r\n", await raw.CommandAsync("b THREAD ORDEREDSUBJECT UTF-8 ALL"));
        Assert.Equal("* THREAD (3)(7)(5 1)(4 6 2)\r\nc OK THREAD completed\r\n", await raw.CommandAsync("c THREAD REFERENCES UTF-8 ALL"));
        Assert.Equal("* THREAD (5 1)\r\nd OK THREAD completed\r\n", await raw.CommandAsync("d UID THREAD REFERENCES UTF-8 SUBJECT lunch"));
        Assert.Equal("e BAD Unknown threading algorithm\r\n", await raw.CommandAsync("e THREAD FANCY UTF-8 ALL"));
    }

    [Fact]
    public async Task Object_ids_and_preview()
    {
        await using var raw = await LoginAsync();
        var select = await raw.CommandAsync("a SELECT INBOX");
        Assert.Matches(@"\* OK \[MAILBOXID \(F[0-9a-f]+\)\] Ok", select);
        var ids = Lines(await raw.CommandAsync("b FETCH 2,4,6 (EMAILID THREADID)"));
        var threads = ids.Take(3).Select(l => System.Text.RegularExpressions.Regex.Match(l, @"THREADID \((T[0-9a-f]+)\)").Groups[1].Value).ToList();
        Assert.Single(threads.Distinct()); // one thread: a@x, b@x, c@x
        var email = System.Text.RegularExpressions.Regex.Match(ids[0], @"EMAILID \((M[0-9a-f]+)\)").Groups[1].Value;
        Assert.Equal("* SEARCH 2\r\nc OK SEARCH completed\r\n", await raw.CommandAsync($"c SEARCH EMAILID {email}"));
        Assert.Equal("* SEARCH 2 4 6\r\nd OK SEARCH completed\r\n", await raw.CommandAsync($"d SEARCH THREADID {threads[0]}"));
        // A copy keeps its EMAILID (RFC 8474 §5.1).
        Assert.Contains("e OK [COPYUID", await raw.CommandAsync("e COPY 2 Archive"));
        await raw.CommandAsync("f SELECT Archive");
        Assert.Contains($"EMAILID ({email})", await raw.CommandAsync("g FETCH 1 EMAILID"));
        Assert.Equal($"* 1 FETCH (PREVIEW \"{new string('x', 200)}\")\r\nh OK FETCH completed\r\n",
            await raw.CommandAsync("h FETCH 1 (PREVIEW (LAZY))"));
        Assert.Matches(@"^\* STATUS Archive \(MAILBOXID \(F[0-9a-f]+\)\)", await raw.CommandAsync("i STATUS Archive (MAILBOXID)"));
    }
}
