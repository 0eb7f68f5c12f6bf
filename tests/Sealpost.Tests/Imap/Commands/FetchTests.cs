using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>FETCH (RFC 9051 §6.4.5) and BINARY (RFC 3516).</summary>
public sealed class FetchTests : ImapTestBase
{
    private const string Multipart =
        "From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nSubject: =?utf-8?q?R=C3=A9sum=C3=A9?= attached\r\nDate: Tue, 03 Nov 2026 10:00:00 +0100\r\n" +
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
        "Caf=C3=A9 au lait\r\n--b1\r\nContent-Type: application/octet-stream; name=\"blob.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQ=\r\n--b1--\r\n";

    /// <summary>A NIL host would start a group (RFC 9051 §7.5.2): an address without a domain gets Dovecot's placeholder.</summary>
    [Fact]
    public async Task Envelope_of_an_address_without_a_domain_is_not_a_group()
    {
        await DeliverAsync("From: d\r\nTo: alice@example.test\r\nSubject: s\r\n\r\nbody\r\n");
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Contains("((NIL NIL \"d\" \"MISSING_DOMAIN\"))", await raw.CommandAsync("b FETCH 1 ENVELOPE"));
    }

    private const string BinaryBody = "a\nb\0\rcd";

    private async Task<ImapRaw> AppendBinaryAsync()
    {
        var message = "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + BinaryBody;
        var raw = await LoginAsync();
        Assert.Contains("a OK", await raw.CommandAsync($"a APPEND INBOX ~{{{message.Length}+}}\r\n{message}"));
        await raw.CommandAsync("b SELECT INBOX");
        return raw;
    }

    /// <summary>RFC 3516 §4.4: APPEND as literal8 keeps binary content octet for octet, bare LF and CR included.</summary>
    [Fact]
    public async Task Binary_append_keeps_every_octet()
    {
        await using var raw = await AppendBinaryAsync();
        Assert.Contains($"BINARY.SIZE[1] {BinaryBody.Length})", await raw.CommandAsync("c FETCH 1 BINARY.SIZE[1]"));
        Assert.Contains($"BINARY[1] ~{{{BinaryBody.Length}}}\r\n{BinaryBody})", await raw.CommandAsync("d FETCH 1 BINARY.PEEK[1]"));
    }

    /// <summary>RFC 9051 §4.3: no NUL in a literal; BODY[] of binary content sends 0x80 in its place.</summary>
    [Fact]
    public async Task Body_of_binary_content_carries_no_nul()
    {
        await using var raw = await AppendBinaryAsync();
        await raw.SendAsync("e FETCH 1 BODY.PEEK[1]\r\n");
        var answer = await raw.UntilTaggedAsync("e");
        Assert.DoesNotContain('\0', answer);
        Assert.Contains($"BODY[1] {{{BinaryBody.Length}}}\r\n", answer);
    }

    /// <summary>RFC 3516 §4.2: BINARY of a message/rfc822 part is the enclosed message.</summary>
    [Fact]
    public async Task Binary_of_an_enclosed_message_is_the_message()
    {
        var inner = "Subject: inner\r\n\r\ninner body\r\n";
        await DeliverAsync("Subject: outer\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n" +
            "--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--b--\r\n");
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        var enclosed = inner[..^2]; // the CRLF before the boundary belongs to the boundary (RFC 2046 §5.1.1)
        Assert.Contains($"BINARY[2] {{{enclosed.Length}}}\r\n{enclosed})", await raw.CommandAsync("b FETCH 1 BINARY.PEEK[2]"));
        Assert.Contains($"BINARY.SIZE[2] {enclosed.Length})", await raw.CommandAsync("c FETCH 1 BINARY.SIZE[2]"));
    }

    /// <summary>RFC 2180 §4.1 / RFC 9051 §7.1: FETCH of a message another session expunged sends what still exists, says EXPUNGEISSUED, leaks nothing internal.</summary>
    [Theory]
    [InlineData("FETCH 1:2 BODY.PEEK[]")]
    [InlineData("FETCH 1:2 (FLAGS ENVELOPE)")]
    [InlineData("FETCH 1 RFC822.SIZE")]
    public async Task Fetch_of_a_message_expunged_elsewhere_says_expungeissued(string command)
    {
        await DeliverAsync(Message("goes"));
        await DeliverAsync(Message("stays"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        await using (var other = await LoginAsync())
        {
            await other.CommandAsync("a SELECT INBOX");
            await other.CommandAsync("b STORE 1 +FLAGS.SILENT (\\Deleted)");
            Assert.Contains("b OK", await other.CommandAsync("b EXPUNGE"));
        }

        var lines = Lines(await raw.CommandAsync("b " + command));

        Assert.StartsWith("b OK [EXPUNGEISSUED] ", lines[^1]);
        Assert.DoesNotContain(lines, l => l.StartsWith("* 1 FETCH", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("blob", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(command.Contains("1:2") ? 1 : 0, lines.Count(l => l.StartsWith("* 2 FETCH", StringComparison.Ordinal)));
    }

    /// <summary>An explicit 4294967295 is a UID like any other (none has it); only '*' means the last message.</summary>
    [Theory]
    [InlineData("UID FETCH 3:4294967295 UID", "")]
    [InlineData("UID FETCH 4294967295 UID", "")]
    [InlineData("UID FETCH 3:* UID", "* 2 FETCH (UID 2)")]
    [InlineData("UID FETCH 2:4294967295 UID", "* 2 FETCH (UID 2)")]
    [InlineData("UID SEARCH UID 4294967295", "* SEARCH")]
    [InlineData("UID SEARCH UID *", "* SEARCH 2")]
    public async Task The_largest_uid_is_not_star(string command, string expected)
    {
        await DeliverAsync(Message("one"));
        await DeliverAsync(Message("two"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        var lines = Lines(await raw.CommandAsync("b " + command));
        Assert.StartsWith("b OK", lines[^1]);
        Assert.Equal(expected, string.Join("\r\n", lines[..^1]));
    }

    /// <summary>RFC 9051 §7.5.2: RFC822.SIZE is the exact octet count of BODY[]; STATUS SIZE and QUOTA count the same octets.</summary>
    [Theory]
    [InlineData(22)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    [InlineData(300_001)]
    public async Task Sizes_are_the_octets_a_client_reads_not_the_sealed_blob(int length)
    {
        var message = "Subject: s\r\n\r\n" + new string('x', length - 16) + "\r\n";
        Assert.Equal(length, message.Length);
        await using var raw = await LoginAsync();
        Assert.Contains("a OK", await raw.CommandAsync($"a APPEND INBOX {{{length}+}}\r\n{message}"));
        await raw.CommandAsync("b SELECT INBOX");

        Assert.Contains($"RFC822.SIZE {length})", await raw.CommandAsync("c FETCH 1 (RFC822.SIZE)"));
        Assert.Contains($"BODY[] {{{length}}}", await raw.CommandAsync("d FETCH 1 BODY.PEEK[]"));
        Assert.Contains($"(SIZE {length})", await raw.CommandAsync("e STATUS INBOX (SIZE)"));
        Assert.Contains($"(STORAGE {(length + 1023) / 1024} ", await raw.CommandAsync("f GETQUOTAROOT INBOX"));
    }

    [Fact]
    public async Task Fetch_items_and_sections_from_sealed_metadata()
    {
        await DeliverAsync(Multipart);
        await SeenByAnotherSessionAsync();
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
}
