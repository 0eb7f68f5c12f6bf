using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>Every SEARCH key of RFC 9051 §6.4.4 and RFC 3501 §6.4.4 (plus WITHIN, MODSEQ), with UTF-8 text compared case-insensitively.</summary>
public sealed class SearchKeyTests : ImapTestBase
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // 1: German, quoted-printable body, seen+answered, in January.
        await DeliverAsync(
            "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>\r\nTo: Alice <alice@example.test>\r\nCc: Team <team@example.test>\r\n" +
            "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=\r\nDate: Mon, 05 Jan 2026 10:00:00 +0100\r\nX-Project: Übersicht\r\nMIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nWir treffen uns an der Stra=C3=9Fe.\r\n",
            flags: MessageFlags.Seen | MessageFlags.Answered, date: new DateTimeOffset(2026, 1, 5, 12, 0, 0, TimeSpan.Zero));
        // 2: Greek, base64 body, flagged+draft, in February, Bcc.
        await DeliverAsync(
            "From: Nikos <nikos@example.gr>\r\nTo: Bob <bob@example.test>\r\nBcc: secret@example.test\r\nSubject: =?utf-8?b?zprOsc67zrfOvM6tz4HOsQ==?=\r\n" +
            "Date: Thu, 05 Feb 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("Ωραία μέρα σήμερα. ΘΆΛΑΣΣΑ\r\n")) + "\r\n",
            flags: MessageFlags.Flagged | MessageFlags.Draft, date: new DateTimeOffset(2026, 2, 5, 12, 0, 0, TimeSpan.Zero));
        // 3: plain ASCII, large, deleted, just now.
        await DeliverAsync(Message("Plain old report", "numbers " + new string('9', 5000), from: "erin@example.org"), flags: MessageFlags.Deleted);
    }

    [Theory]
    [InlineData("ALL", "1 2 3")]
    [InlineData("ANSWERED", "1")]
    [InlineData("UNANSWERED", "2 3")]
    [InlineData("DELETED", "3")]
    [InlineData("UNDELETED", "1 2")]
    [InlineData("DRAFT", "2")]
    [InlineData("UNDRAFT", "1 3")]
    [InlineData("FLAGGED", "2")]
    [InlineData("UNFLAGGED", "1 3")]
    [InlineData("SEEN", "1")]
    [InlineData("UNSEEN", "2 3")]
    [InlineData("NEW", "2 3")] // every message is recent in the first session to select the mailbox
    [InlineData("OLD", "")]
    [InlineData("RECENT", "1 2 3")]
    [InlineData("KEYWORD $Important", "")]
    [InlineData("UNKEYWORD $Important", "1 2 3")]
    [InlineData("FROM \"jürgen\"", "1")]
    [InlineData("FROM MÜLLER", "1")]
    [InlineData("FROM nikos@example.gr", "2")]
    [InlineData("TO bob", "2")]
    [InlineData("CC team", "1")]
    [InlineData("BCC secret", "2")]
    [InlineData("SUBJECT \"GRÜSSE\"", "1")]
    [InlineData("SUBJECT \"grusse\"", "")]
    [InlineData("SUBJECT \"grüße\"", "1")]
    [InlineData("SUBJECT \"ΚΑΛΗΜΈΡΑ\"", "2")]
    [InlineData("SUBJECT report", "3")]
    [InlineData("HEADER X-Project \"übersicht\"", "1")]
    [InlineData("HEADER X-Project \"\"", "1")]
    [InlineData("BODY \"straße\"", "1")]
    [InlineData("BODY STRASSE", "1")]
    [InlineData("BODY \"θάλασσα\"", "2")]
    [InlineData("BODY juergen", "")]
    [InlineData("TEXT juergen", "1")]
    [InlineData("TEXT \"μέρα\"", "2")]
    [InlineData("BEFORE 1-Feb-2026", "1")]
    [InlineData("ON 5-Feb-2026", "2")]
    [InlineData("SINCE 1-Feb-2026", "2 3")]
    [InlineData("SENTBEFORE 1-Feb-2026", "1")]
    [InlineData("SENTON 5-Jan-2026", "1")]
    [InlineData("SENTSINCE 1-Feb-2026", "2 3")]
    [InlineData("LARGER 3000", "3")]
    [InlineData("SMALLER 3000", "1 2")]
    [InlineData("UID 2:*", "2 3")]
    [InlineData("2,3", "2 3")]
    [InlineData("NOT SEEN", "2 3")]
    [InlineData("OR SEEN FLAGGED", "1 2")]
    [InlineData("(UNSEEN UNDELETED)", "2")]
    [InlineData("YOUNGER 3600", "3")]
    [InlineData("OLDER 3600", "1 2")]
    [InlineData("MODSEQ 1", "1 2 3")]
    public async Task Each_key(string key, string expected)
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        var reply = await raw.CommandAsync($"b SEARCH CHARSET UTF-8 {key}");
        var line = Lines(reply).First(l => !l.StartsWith("* OK [HIGHESTMODSEQ", StringComparison.Ordinal)); // MODSEQ enables CONDSTORE
        Assert.StartsWith("* SEARCH", line);
        Assert.Equal(expected, System.Text.RegularExpressions.Regex.Replace(line, @"^\* SEARCH ?| ?\(MODSEQ \d+\)$", ""));
        Assert.EndsWith("b OK SEARCH completed\r\n", reply);
    }

    [Fact]
    public async Task Utf8_search_strings_as_literals()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        var text = "straße"u8.ToArray();
        await raw.SendAsync($"b SEARCH CHARSET UTF-8 BODY {{{text.Length}}}\r\n");
        Assert.Equal("+ Ready for literal data", await raw.LineAsync());
        await raw.SendAsync([.. text, (byte)'\r', (byte)'\n']);
        Assert.Equal("* SEARCH 1\r\nb OK SEARCH completed\r\n", await raw.UntilTaggedAsync("b"));
    }
}
