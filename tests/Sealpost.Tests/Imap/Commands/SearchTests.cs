using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>SEARCH (RFC 9051 §6.4.4), ESEARCH (RFC 4731), SEARCHRES (RFC 5182).</summary>
public sealed class SearchTests : ImapTestBase
{
    [Fact]
    public async Task Search_keys_and_esearch()
    {
        await DeliverAsync(Message("Quarterly report", "Numbers inside: café", from: "dave@example.org"), date: new DateTimeOffset(2026, 1, 5, 12, 0, 0, TimeSpan.Zero));
        await DeliverAsync(Message("Lunch?", "Pizza", extraHeaders: "X-Priority: 1\r\n"), flags: MessageFlags.Seen | MessageFlags.Flagged, date: new DateTimeOffset(2026, 2, 5, 12, 0, 0, TimeSpan.Zero));
        await DeliverAsync(Message("Re: Quarterly report", "Agreed", from: "erin@example.org"), flags: MessageFlags.Deleted);
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("* SEARCH 1 2 3\r\nb OK SEARCH completed\r\n", await raw.CommandAsync("b SEARCH ALL"));
        Assert.Equal("* SEARCH 1 3\r\nc OK SEARCH completed\r\n", await raw.CommandAsync("c SEARCH SUBJECT quarterly"));
        Assert.Equal("* SEARCH 1\r\nd OK SEARCH completed\r\n", await raw.CommandAsync("d SEARCH FROM DAVE"));
        Assert.Equal("* SEARCH 2\r\ne OK SEARCH completed\r\n", await raw.CommandAsync("e SEARCH SEEN FLAGGED"));
        Assert.Equal("* SEARCH 1 3\r\nf OK SEARCH completed\r\n", await raw.CommandAsync("f SEARCH UNSEEN"));
        Assert.Equal("* SEARCH 2 3\r\ng OK SEARCH completed\r\n", await raw.CommandAsync("g SEARCH OR DELETED FLAGGED"));
        Assert.Equal("* SEARCH 1\r\nh OK SEARCH completed\r\n", await raw.CommandAsync("h SEARCH CHARSET UTF-8 BODY CAFÉ"));
        Assert.Equal("* SEARCH 2\r\ni OK SEARCH completed\r\n", await raw.CommandAsync("i SEARCH HEADER X-Priority 1"));
        Assert.Equal("* SEARCH 1\r\nj OK SEARCH completed\r\n", await raw.CommandAsync("j SEARCH BEFORE 1-Feb-2026"));
        Assert.Equal("* SEARCH 2\r\nk OK SEARCH completed\r\n", await raw.CommandAsync("k SEARCH ON 5-Feb-2026"));
        Assert.Equal("* SEARCH 1 2 3\r\nl OK SEARCH completed\r\n", await raw.CommandAsync("l SEARCH SENTON 3-Nov-2026"));
        Assert.Equal("* SEARCH 2 3\r\nm OK SEARCH completed\r\n", await raw.CommandAsync("m SEARCH NOT 1"));
        Assert.Equal("* SEARCH 3\r\nn OK SEARCH completed\r\n", await raw.CommandAsync("n UID SEARCH UID 3:*"));
        Assert.Equal("* SEARCH 1 2 3\r\no OK SEARCH completed\r\n", await raw.CommandAsync("o SEARCH LARGER 10 SMALLER 100000"));
        Assert.Equal("* SEARCH 2\r\np OK SEARCH completed\r\n", await raw.CommandAsync("p SEARCH TEXT pizza"));
        Assert.Equal("q NO [BADCHARSET (UTF-8 US-ASCII)] Supported charsets: UTF-8, US-ASCII\r\n", await raw.CommandAsync("q SEARCH CHARSET KOI8-R ALL"));
        Assert.Equal("* ESEARCH (TAG \"r\") MIN 1 MAX 3 COUNT 2\r\nr OK SEARCH completed\r\n", await raw.CommandAsync("r SEARCH RETURN (MIN MAX COUNT) UNSEEN"));
        Assert.Equal("* ESEARCH (TAG \"s\") UID ALL 1:2\r\ns OK SEARCH completed\r\n", await raw.CommandAsync("s UID SEARCH RETURN () UNDELETED"));
        Assert.Equal("t OK SEARCH completed\r\n", await raw.CommandAsync("t SEARCH RETURN (SAVE) FROM erin"));
        Assert.Equal("* 3 FETCH (UID 3)\r\nu OK FETCH completed\r\n", await raw.CommandAsync("u FETCH $ UID"));
        Assert.Equal("* ESEARCH (TAG \"v\") COUNT 0\r\nv OK SEARCH completed\r\n", await raw.CommandAsync("v SEARCH RETURN (COUNT) KEYWORD $Nothing"));
        await raw.CommandAsync("w ENABLE IMAP4rev2");
        Assert.Equal("* ESEARCH (TAG \"x\") ALL 1,3\r\nx OK SEARCH completed\r\n", await raw.CommandAsync("x SEARCH UNSEEN"));
    }

    /// <summary>An address written with comments inside it is found by its address, as ENVELOPE parses it.</summary>
    [Theory]
    [InlineData("FROM user@domain.org", "* SEARCH 1")]
    [InlineData("FROM domain.org", "* SEARCH 1")]
    [InlineData("FROM \"Some One\"", "* SEARCH 1")]
    [InlineData("FROM other@domain.org", "* SEARCH")]
    public async Task Search_from_matches_an_address_written_with_comments(string criteria, string expected)
    {
        await DeliverAsync("From: Some One <user (comment)@ (comment) domain.org>\r\nTo: alice@example.test\r\nSubject: c\r\n\r\nbody\r\n");
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal(expected, Lines(await raw.CommandAsync("b SEARCH " + criteria))[0]);
    }
}
