using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>APPEND, FETCH, SEARCH, STORE, COPY, MOVE, EXPUNGE, CLOSE and UNSELECT over a real socket.</summary>
public sealed class ImapMessageTests : ImapTestBase
{
    private const string Multipart =
        "From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9?= attached\r\nDate: Tue, 03 Nov 2026 10:00:00 +0100\r\n" +
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
        "Caf=C3=A9 au lait\r\n--b1\r\nContent-Type: application/octet-stream; name=\"blob.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--b1--\r\n";

    [Fact]
    public async Task Append_with_flags_date_literal_plus_and_multiappend()
    {
        await using var raw = await LoginAsync();
        var message = Message("appended");
        await raw.SendAsync($"a APPEND INBOX (\\Seen $Work) \" 7-Feb-1994 21:52:25 -0800\" {{{message.Length}}}\r\n");
        Assert.Equal("+ Ready for literal data", await raw.LineAsync());
        await raw.SendAsync(message + "\r\n");
        Assert.Matches(@"^a OK \[APPENDUID \d+ 1\] APPEND completed\r\n$", await raw.UntilTaggedAsync("a"));
        var second = Message("two");
        Assert.Matches(@"^b OK \[APPENDUID \d+ 2:3\] APPEND completed\r\n$",
            await raw.CommandAsync($"b APPEND INBOX {{{second.Length}+}}\r\n{second} (\\Flagged) {{{second.Length}+}}\r\n{second}"));
        Assert.Equal("c NO [TRYCREATE] No such mailbox\r\n", await raw.CommandAsync($"c APPEND Nowhere {{{second.Length}+}}\r\n{second}"));
        await raw.SendAsync("d APPEND INBOX {0}\r\n");
        Assert.Equal("+ Ready for literal data", await raw.LineAsync());
        await raw.SendAsync("\r\n");
        Assert.Equal("d NO [CANNOT] An empty message cannot be appended\r\n", await raw.UntilTaggedAsync("d"));
        Assert.Equal("e BAD Bad date-time\r\n", await raw.CommandAsync($"e APPEND INBOX \"31-Feb-1994 21:52:25 -0800\" {{{second.Length}+}}\r\n{second}"));
        await raw.CommandAsync("f SELECT INBOX");
        var fetch = await raw.CommandAsync("g FETCH 1:3 (FLAGS INTERNALDATE)");
        Assert.Contains("* 1 FETCH (FLAGS (\\Seen $Work) INTERNALDATE \"08-Feb-1994 05:52:25 +0000\")", fetch); // kept as an instant, shown in UTC
        Assert.Contains("* 3 FETCH (FLAGS (\\Flagged) INTERNALDATE", fetch);
        // Binary content: literal8 in APPEND, BINARY fetches it back exactly.
        var binary = "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\0\u0001\u0002\r\n";
        var appended = await raw.CommandAsync($"h APPEND INBOX ~{{{binary.Length}+}}\r\n{binary}");
        Assert.Equal("* 4 EXISTS", Lines(appended)[0]); // the selected mailbox grew: told at once
        Assert.Contains("h OK [APPENDUID", appended);
        Assert.Equal("* 4 FETCH (BINARY[1] ~{5}\r\n\0\u0001\u0002\r\n)\r\ni OK FETCH completed\r\n", await raw.CommandAsync("i FETCH 4 BINARY.PEEK[1]"));
    }

    [Fact]
    public async Task Fetch_items_and_sections_from_sealed_metadata()
    {
        await DeliverAsync(Multipart);
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        var structure = await raw.CommandAsync("b FETCH 1 (UID RFC822.SIZE BODYSTRUCTURE ENVELOPE)");
        Assert.Contains("* 1 FETCH (UID 1 RFC822.SIZE ", structure);
        Assert.Contains("BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 17 0 NIL NIL NIL NIL)(\"application\" \"octet-stream\" (\"name\" \"blob.bin\") NIL NIL \"base64\" 8 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)", structure);
        Assert.Contains("ENVELOPE (\"Tue, 03 Nov 2026 10:00:00 +0100\" \"=?utf-8?q?R=C3=A9sum=C3=A9?= attached\" ((\"Carol\" NIL \"carol\" \"example.org\"))", structure);

        Assert.Equal("* 1 FETCH (BODY[1] {17}\r\nCaf=C3=A9 au lait)\r\nc OK FETCH completed\r\n", await raw.CommandAsync("c FETCH 1 BODY.PEEK[1]"));
        Assert.Equal("* 1 FETCH (BINARY[1] {13}\r\nCafé au lait)\r\nd OK FETCH completed\r\n", await raw.CommandAsync("d FETCH 1 BINARY.PEEK[1]"));
        Assert.Equal("* 1 FETCH (BINARY.SIZE[2] 5)\r\ne OK FETCH completed\r\n", await raw.CommandAsync("e FETCH 1 BINARY.SIZE[2]"));
        const string mime = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
        Assert.Equal($"* 1 FETCH (BODY[1.MIME] {{{mime.Length}}}\r\n{mime})\r\nf OK FETCH completed\r\n",
            await raw.CommandAsync("f FETCH 1 BODY.PEEK[1.MIME]"));
        Assert.Equal("* 1 FETCH (BODY[HEADER.FIELDS (TO X-NONE)] {26}\r\nTo: alice@example.test\r\n\r\n)\r\ng OK FETCH completed\r\n",
            await raw.CommandAsync("g FETCH 1 BODY.PEEK[HEADER.FIELDS (TO X-NONE)]"));
        Assert.Equal("* 1 FETCH (BODY[]<0> {6}\r\nFrom: )\r\nh OK FETCH completed\r\n", await raw.CommandAsync("h FETCH 1 BODY.PEEK[]<0.6>"));
        Assert.Equal("* 1 FETCH (BODY[]<100000> {0}\r\n)\r\ni OK FETCH completed\r\n", await raw.CommandAsync("i FETCH 1 BODY.PEEK[]<100000.10>"));
        Assert.Equal("* 1 FETCH (BODY[9] {0}\r\n)\r\nj OK FETCH completed\r\n", await raw.CommandAsync("j FETCH 1 BODY.PEEK[9]"));
        var notFields = await raw.CommandAsync("k FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Subject Date)]");
        Assert.DoesNotContain("Subject:", notFields);
        Assert.Contains("From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nMIME-Version: 1.0\r\n", notFields);
        Assert.EndsWith("\r\n\r\n)\r\nk OK FETCH completed\r\n", notFields);

        // FLAGS untouched so far: PEEK never sets \Seen; BODY[TEXT] does, and says so.
        Assert.Equal("* 1 FETCH (FLAGS ())\r\nl OK FETCH completed\r\n", await raw.CommandAsync("l FETCH 1 FLAGS"));
        var text = await raw.CommandAsync("m FETCH 1 BODY[TEXT]");
        Assert.StartsWith("* 1 FETCH (BODY[TEXT] {", text);
        Assert.Contains(" FLAGS (\\Seen))", text);
        Assert.Equal("n BAD Message sequence number out of range\r\n", await raw.CommandAsync("n FETCH 2 FLAGS"));
        Assert.Equal("o OK FETCH completed\r\n", await raw.CommandAsync("o UID FETCH 5:9 FLAGS"));
        Assert.Equal("* 1 FETCH (UID 1 FLAGS (\\Seen))\r\np OK FETCH completed\r\n", await raw.CommandAsync("p UID FETCH 1:* FLAGS"));
        var rfc822 = await raw.CommandAsync("q FETCH 1 (RFC822.HEADER RFC822.TEXT)");
        Assert.Contains("RFC822.HEADER {", rfc822);
        Assert.Contains("RFC822.TEXT {", rfc822);
    }

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

    [Fact]
    public async Task Store_flags_and_keywords()
    {
        await DeliverAsync(Message("one"));
        await DeliverAsync(Message("two"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS (\\Seen))\r\nb OK STORE completed\r\n", await raw.CommandAsync("b STORE 1:* +FLAGS (\\Seen)"));
        Assert.Equal("* 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen $Important))\r\nc OK STORE completed\r\n", await raw.CommandAsync("c UID STORE 2 +FLAGS (\\Flagged $Important)"));
        Assert.Equal("d OK STORE completed\r\n", await raw.CommandAsync("d STORE 2 -FLAGS.SILENT ($important)"));
        Assert.Equal("* 1 FETCH (FLAGS (\\Answered))\r\ne OK STORE completed\r\n", await raw.CommandAsync("e STORE 1 FLAGS \\Answered \\Recent"));
        Assert.Equal("* 1 FETCH (FLAGS (\\Answered))\r\n* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\nf OK FETCH completed\r\n", await raw.CommandAsync("f FETCH 1:2 FLAGS"));
        var select = await raw.CommandAsync("g SELECT INBOX");
        Assert.Contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)", select);
        Assert.StartsWith("h OK [MODIFIED 1:2]", await raw.CommandAsync("h STORE 1,2 (UNCHANGEDSINCE 1) +FLAGS (\\Draft)"));
        Assert.DoesNotContain("Draft", await raw.CommandAsync("i FETCH 1:2 FLAGS"));
    }

    [Fact]
    public async Task Copy_move_expunge_close_unselect()
    {
        for (var i = 1; i <= 5; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Matches(@"^b OK \[COPYUID \d+ 1:2 1:2\] COPY completed\r\n$", await raw.CommandAsync("b COPY 1:2 Archive"));
        Assert.Equal("c NO [TRYCREATE] No such mailbox\r\n", await raw.CommandAsync("c COPY 1 Nowhere"));
        Assert.Matches(@"^\* OK \[COPYUID \d+ 3 3\] Moved\r\n\* 3 EXPUNGE\r\nd OK MOVE completed\r\n$", await raw.CommandAsync("d MOVE 3 Archive"));
        Assert.Matches(@"^\* OK \[COPYUID \d+ 4:5 4:5\] Moved\r\n\* 3 EXPUNGE\r\n\* 3 EXPUNGE\r\ne OK MOVE completed\r\n$", await raw.CommandAsync("e UID MOVE 4:5 Archive"));
        await raw.CommandAsync("f STORE 1:2 +FLAGS.SILENT (\\Deleted)");
        Assert.Equal("* 1 EXPUNGE\r\ng OK EXPUNGE completed\r\n", await raw.CommandAsync("g UID EXPUNGE 1"));
        Assert.Equal("* 1 EXPUNGE\r\nh OK EXPUNGE completed\r\n", await raw.CommandAsync("h EXPUNGE"));
        Assert.Contains("(MESSAGES 0)", await raw.CommandAsync("i STATUS INBOX (MESSAGES)"));

        await raw.CommandAsync("j SELECT Archive");
        await raw.CommandAsync("k STORE 1 +FLAGS.SILENT (\\Deleted)");
        Assert.Equal("l OK UNSELECT completed\r\n", await raw.CommandAsync("l UNSELECT"));
        Assert.Contains("(MESSAGES 5)", await raw.CommandAsync("m STATUS Archive (MESSAGES)"));
        await raw.CommandAsync("n SELECT Archive");
        Assert.Equal("o OK CLOSE completed\r\n", await raw.CommandAsync("o CLOSE")); // expunges silently
        Assert.Contains("(MESSAGES 4)", await raw.CommandAsync("p STATUS Archive (MESSAGES)"));
        await raw.CommandAsync("q EXAMINE Archive");
        Assert.Equal("r NO [READ-ONLY] Mailbox is read-only\r\n", await raw.CommandAsync("r EXPUNGE"));
    }
}
