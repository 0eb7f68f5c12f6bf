using System.Buffers;
using System.Text;
using Sealpost.Imap.Protocol;

namespace Sealpost.Tests.Imap;

/// <summary>The pure grammar: framing, tokens, sequence sets, modified UTF-7, FETCH and SEARCH arguments.</summary>
public sealed class ImapParserTests
{
    private static (FrameStatus Status, long Length, FramerState State) Frame(string text, int maxLine = 1000, long maxLiteral = 1000)
    {
        var state = new FramerState();
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text));
        var status = ImapFramer.TryFrame(buffer, ref state, maxLine, maxLiteral, out var length, out _);
        return (status, length, state);
    }

    [Theory]
    [InlineData("a NOOP\r\n", FrameStatus.Complete, 8)]
    [InlineData("a NOOP", FrameStatus.NeedMore, 0)]
    [InlineData("a NOOP\n", FrameStatus.Complete, 7)]
    [InlineData("a LOGIN {3}\r\n", FrameStatus.NeedContinuation, 0)]
    [InlineData("a LOGIN {3+}\r\nbob pw\r\n", FrameStatus.Complete, 22)]
    [InlineData("a LOGIN {3-}\r\nbob pw\r\n", FrameStatus.Complete, 22)]
    [InlineData("a LOGIN {3+}\r\nbo", FrameStatus.NeedMore, 0)]
    [InlineData("a APPEND x ~{2+}\r\n\0\0\r\n", FrameStatus.Complete, 22)]
    [InlineData("a APPEND x {0+}\r\n\r\n", FrameStatus.Complete, 19)]
    [InlineData("a APPEND x {0}\r\n", FrameStatus.NeedContinuation, 0)]
    [InlineData("a X \"{5}\"\r\n", FrameStatus.Complete, 11)]
    [InlineData("a APPEND x {5000}\r\n", FrameStatus.LiteralTooLarge, 19)]
    [InlineData("a APPEND x {99999999999999999999999}\r\n", FrameStatus.Complete, 38)]
    public void Frames_commands_and_literals(string text, FrameStatus expected, long length)
    {
        var (status, got, _) = Frame(text);
        Assert.Equal(expected, status);
        if (expected is FrameStatus.Complete or FrameStatus.LiteralTooLarge)
        {
            Assert.Equal(length, got);
        }
    }

    [Fact]
    public void A_line_past_the_limit_is_refused_before_its_end_arrives()
    {
        Assert.Equal(FrameStatus.LineTooLong, Frame(new string('x', 2000), maxLine: 1000).Status);
        Assert.Equal(FrameStatus.LineTooLong, Frame(new string('x', 2000) + "\r\n", maxLine: 1000).Status);
    }

    [Fact]
    public void A_synchronising_literal_completes_after_the_continuation()
    {
        var state = new FramerState();
        var first = new ReadOnlySequence<byte>("a LOGIN {3}\r\n"u8.ToArray());
        Assert.Equal(FrameStatus.NeedContinuation, ImapFramer.TryFrame(first, ref state, 100, 100, out _, out var literal));
        Assert.True(literal.Synchronising);
        Assert.Equal(3, literal.Size);
        var whole = new ReadOnlySequence<byte>("a LOGIN {3}\r\nbob {2}\r\n"u8.ToArray());
        Assert.Equal(FrameStatus.NeedContinuation, ImapFramer.TryFrame(whole, ref state, 100, 100, out _, out _));
        var all = new ReadOnlySequence<byte>("a LOGIN {3}\r\nbob {2}\r\npw\r\n"u8.ToArray());
        Assert.Equal(FrameStatus.Complete, ImapFramer.TryFrame(all, ref state, 100, 100, out var length, out _));
        Assert.Equal(all.Length, length);
        var p = new ImapParser(all.ToArray());
        Assert.Equal("a", p.ReadTag());
        p.Space();
        Assert.Equal("LOGIN", p.ReadAtom());
        p.Space();
        Assert.Equal("bob", p.ReadAString());
        p.Space();
        Assert.Equal("pw", p.ReadAString());
        p.End();
    }

    [Theory]
    [InlineData("\"a b\"", "a b")]
    [InlineData("\"quote \\\" and \\\\\"", "quote \" and \\")]
    [InlineData("atom", "atom")]
    [InlineData("{5}\r\nab\r\nc", "ab\r\nc")]
    [InlineData("{5+}\r\nhello", "hello")]
    [InlineData("\"\"", "")]
    [InlineData("INBOX]", "INBOX]")]
    public void Reads_astrings(string text, string expected) => Assert.Equal(expected, new ImapParser(Encoding.ASCII.GetBytes(text)).ReadAString());

    [Theory]
    [InlineData("\"unterminated")]
    [InlineData("\"bad \\n escape\"")]
    [InlineData("{5}\r\nab")]
    [InlineData("{}\r\n")]
    [InlineData("(paren")]
    [InlineData("")]
    public void Refuses_malformed_strings(string text) =>
        Assert.Throws<ImapParseException>(() => new ImapParser(Encoding.ASCII.GetBytes(text)).ReadAString());

    [Fact]
    public void NUL_is_allowed_only_in_literal8()
    {
        Assert.Throws<ImapParseException>(() => new ImapParser("{3}\r\na\0b"u8.ToArray()).ReadStringBytes());
        var p = new ImapParser("~{3}\r\na\0b"u8.ToArray());
        Assert.Equal(new byte[] { (byte)'a', 0, (byte)'b' }, p.ReadStringBytes());
        Assert.True(p.SawLiteral8);
    }

    [Theory]
    [InlineData("1", 10, "1")]
    [InlineData("1:3", 10, "1,2,3")]
    [InlineData("3:1", 10, "1,2,3")]
    [InlineData("*", 10, "10")]
    [InlineData("8:*", 10, "8,9,10")]
    [InlineData("*:8", 10, "8,9,10")]
    [InlineData("1,3,2,3", 10, "1,2,3")]
    [InlineData("5:20", 7, "5,6,7")]
    [InlineData("1:*", 0, "")]
    public void Resolves_sequence_sets(string text, uint max, string expected)
    {
        Assert.True(SequenceSet.TryParse(text, out var set));
        Assert.Equal(expected, string.Join(',', set.Resolve(max)));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1:0")]
    [InlineData("01")]
    [InlineData("1,,2")]
    [InlineData("a")]
    [InlineData("")]
    [InlineData("4294967296")]
    [InlineData("1:2:3")]
    public void Refuses_bad_sequence_sets(string text) => Assert.False(SequenceSet.TryParse(text, out _));

    [Fact]
    public void Formats_number_lists_compactly() => Assert.Equal("1:3,7,9:10", SequenceSet.Format([1, 2, 3, 7, 9, 10]));

    [Theory]
    [InlineData("Entwürfe", "Entw&APw-rfe")]
    [InlineData("A&B", "A&-B")]
    [InlineData("日本語", "&ZeVnLIqe-")]
    [InlineData("plain", "plain")]
    [InlineData("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-")]
    public void Modified_utf7_round_trips(string name, string encoded)
    {
        Assert.Equal(encoded, ModifiedUtf7.Encode(name));
        Assert.True(ModifiedUtf7.TryDecode(encoded, out var decoded));
        Assert.Equal(name, decoded);
    }

    [Theory]
    [InlineData("&")]
    [InlineData("&AGE-")] // encodes printable ASCII 'a': not canonical (RFC 3501 §5.1.3)
    [InlineData("&U,BTFw")]
    [InlineData("&*-")]
    [InlineData("Entwürfe")]
    public void Modified_utf7_refuses_non_canonical_forms(string text) => Assert.False(ModifiedUtf7.TryDecode(text, out _));

    [Theory]
    [InlineData("17-Jul-1996 02:44:25 -0700", "1996-07-17T02:44:25-07:00")]
    [InlineData(" 7-Jul-1996 02:44:25 +0000", "1996-07-07T02:44:25+00:00")]
    [InlineData(" 7-Feb-1994 21:52:25 -1800", "1994-02-08T15:52:25+00:00")]
    [InlineData("01-Jan-2000 00:00:00 +2359", "1999-12-31T00:01:00+00:00")]
    public void Parses_date_times(string text, string iso)
    {
        Assert.True(ImapDates.TryParseDateTime(text, out var value));
        Assert.Equal(DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture), value);
    }

    [Theory]
    [InlineData("31-Feb-2020 00:00:00 +0000")]
    [InlineData("17-Jux-1996 02:44:25 -0700")]
    [InlineData("17-Jul-1996 25:44:25 -0700")]
    [InlineData("17-Jul-1996 02:44:25 0700")]
    [InlineData("01-Jan-0001 00:00:00 +0100")]
    public void Refuses_bad_date_times(string text) => Assert.False(ImapDates.TryParseDateTime(text, out _));

    [Theory]
    [InlineData("1-Feb-99999")]
    [InlineData("0-Feb-1994")]
    [InlineData("29-Feb-1995")]
    public void Refuses_bad_dates(string text) => Assert.False(ImapDates.TryParseDate(text, out _));

    [Fact]
    public void Formats_internal_dates() =>
        Assert.Equal("07-Feb-1994 21:52:25 -0800", ImapDates.FormatDateTime(new DateTimeOffset(1994, 2, 7, 21, 52, 25, TimeSpan.FromHours(-8))));

    [Theory]
    [InlineData("FAST", "Flags,InternalDate,Rfc822Size")]
    [InlineData("(UID FLAGS)", "Uid,Flags")]
    [InlineData("(BODY.PEEK[HEADER.FIELDS (From To)] BODY[1.2.MIME]<0.100>)", "Section,Section")]
    [InlineData("(BINARY[1] BINARY.SIZE[2] BINARY.PEEK[3]<5.10>)", "Binary,BinarySize,Binary")]
    [InlineData("(RFC822 RFC822.HEADER RFC822.TEXT BODYSTRUCTURE BODY ENVELOPE)", "Rfc822,Rfc822Header,Rfc822Text,BodyStructure,Body,Envelope")]
    public void Parses_fetch_items(string text, string kinds) =>
        Assert.Equal(kinds, string.Join(',', FetchAttributes.Parse(new ImapParser(Encoding.ASCII.GetBytes(text))).Select(i => i.Kind)));

    [Fact]
    public void Fetch_sections_keep_their_shape()
    {
        var items = FetchAttributes.Parse(new ImapParser("(BODY.PEEK[1.2.HEADER.FIELDS.NOT (Subject)]<10.20>)"u8.ToArray()));
        var item = Assert.Single(items);
        Assert.True(item.Peek);
        Assert.Equal([1, 2], item.Part!);
        Assert.Equal(SectionText.HeaderFieldsNot, item.Text);
        Assert.Equal("1.2.HEADER.FIELDS.NOT (Subject)", item.SectionName);
        Assert.Equal(10, item.PartialStart);
        Assert.Equal(20, item.PartialCount);
    }

    [Theory]
    [InlineData("(FLAGS")]
    [InlineData("(BOGUS)")]
    [InlineData("BODY[MIME]")]
    [InlineData("BODY[1.TEXT.2]")]
    [InlineData("BODY[]<0.0>")]
    [InlineData("BINARY[HEADER]")]
    [InlineData("BINARY.SIZE[1]<0.5>")]
    [InlineData("BODY[HEADER.FIELDS ()]")]
    [InlineData("(ALL)")]
    public void Refuses_malformed_fetch_items(string text) =>
        Assert.Throws<ImapParseException>(() => FetchAttributes.Parse(new ImapParser(Encoding.ASCII.GetBytes(text))));

    [Fact]
    public void Parses_search_programs()
    {
        var request = SearchParser.Parse(new ImapParser(" RETURN (MIN COUNT) CHARSET UTF-8 OR FROM \"a b\" (SUBJECT x UNSEEN) NOT 1:5 UID 3,9 SINCE 1-Feb-2024\r\n"u8.ToArray()));
        Assert.True(request.Extended);
        Assert.Equal(SearchReturn.Min | SearchReturn.Count, request.Return);
        Assert.Equal("UTF-8", request.Charset);
        var and = Assert.IsType<Sealpost.Imap.Protocol.SearchKey.And>(request.Key);
        Assert.Equal(4, and.Keys.Count);
        Assert.IsType<Sealpost.Imap.Protocol.SearchKey.Or>(and.Keys[0]);
        Assert.IsType<Sealpost.Imap.Protocol.SearchKey.Not>(and.Keys[1]);
        Assert.Equal(new Sealpost.Imap.Protocol.SearchKey.Date(new DateOnly(2024, 2, 1), DateComparison.Since, false), and.Keys[3]);
    }

    [Theory]
    [InlineData(" BOGUS\r\n")]
    [InlineData(" OR FROM x\r\n")]
    [InlineData(" SINCE 31-Feb-2024\r\n")]
    [InlineData(" (UNSEEN\r\n")]
    [InlineData(" RETURN (FOO) ALL\r\n")]
    [InlineData(" LARGER x\r\n")]
    [InlineData("\r\n")]
    public void Refuses_malformed_search_programs(string text) =>
        Assert.Throws<ImapParseException>(() => SearchParser.Parse(new ImapParser(Encoding.ASCII.GetBytes(text))));

    [Fact]
    public void Deeply_nested_search_is_refused_not_overflowed()
    {
        var text = " " + new string('(', 10_000) + "ALL" + new string(')', 10_000) + "\r\n";
        Assert.Throws<ImapParseException>(() => SearchParser.Parse(new ImapParser(Encoding.ASCII.GetBytes(text))));
    }
}
