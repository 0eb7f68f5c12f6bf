using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>APPEND (RFC 9051 §6.3.12), MULTIAPPEND, literal8.</summary>
public sealed class AppendTests : ImapTestBase
{
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
        Assert.Contains("* 1 FETCH (FLAGS (\\Seen \\Recent $Work) INTERNALDATE \"08-Feb-1994 05:52:25 +0000\")", fetch); // kept as an instant, shown in UTC
        Assert.Contains("* 3 FETCH (FLAGS (\\Flagged \\Recent) INTERNALDATE", fetch);
        // Binary content: literal8 in APPEND, BINARY fetches it back exactly.
        var binary = "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\0\u0001\u0002\r\n";
        var appended = await raw.CommandAsync($"h APPEND INBOX ~{{{binary.Length}+}}\r\n{binary}");
        Assert.Equal("* 4 EXISTS", Lines(appended)[0]); // the selected mailbox grew: told at once
        Assert.Contains("h OK [APPENDUID", appended);
        Assert.Equal("* 4 FETCH (BINARY[1] ~{5}\r\n\0\u0001\u0002\r\n)\r\ni OK FETCH completed\r\n", await raw.CommandAsync("i FETCH 4 BINARY.PEEK[1]"));
    }
}
