using System.Buffers;
using System.Text;
using Sealpost.Smtp;

namespace Sealpost.Tests.Smtp;

/// <summary>The pure parts of SMTP, table-driven: command lines, paths, and the DATA reader fed byte by byte.</summary>
public sealed class SmtpGrammarTests
{
    [Theory]
    [InlineData("EHLO client.example", SmtpVerb.Ehlo, "client.example")]
    [InlineData("ehlo client.example", SmtpVerb.Ehlo, "client.example")]
    [InlineData("MAIL FROM:<a@b.example> SIZE=10", SmtpVerb.Mail, "FROM:<a@b.example> SIZE=10")]
    [InlineData("QUIT", SmtpVerb.Quit, "")]
    [InlineData("StartTLS", SmtpVerb.StartTls, "")]
    [InlineData("XYZZY now", SmtpVerb.Unknown, "now")]
    [InlineData("", SmtpVerb.Unknown, "")]
    public void Commands_parse(string line, SmtpVerb verb, string argument)
    {
        var command = SmtpGrammar.Parse(Encoding.UTF8.GetBytes(line));
        Assert.Equal(verb, command.Verb);
        Assert.Equal(argument, command.Argument);
    }

    [Theory]
    [InlineData("FROM:<a@b.example>", "a@b.example", "")]
    [InlineData("FROM: <a@b.example>", "a@b.example", "")]
    [InlineData("FROM:<>", "", "")]
    [InlineData("FROM:<@relay.example,@other.example:a@b.example>", "a@b.example", "")]
    [InlineData("FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8", "a@b.example", "BODY,SIZE,SMTPUTF8")]
    [InlineData("FROM:<üser@b.example> SMTPUTF8", "üser@b.example", "SMTPUTF8")]
    public void Paths_parse(string argument, string address, string parameters)
    {
        Assert.True(SmtpGrammar.TryParsePath(argument, "FROM:", out var path, out var error), error);
        Assert.Equal(address, path.Address);
        Assert.Equal(parameters, string.Join(',', path.Parameters.Keys.Order(StringComparer.Ordinal)));
    }

    [Theory]
    [InlineData("TO:<a@b.example>")]
    [InlineData("FROM:a@b.example")]
    [InlineData("FROM:<a@b.example")]
    [InlineData("FROM:<a\u0001@b.example>")]
    [InlineData("FROM:<a@b.example> =bad")]
    [InlineData("FROM:<a@b.example> SIZE=1 B@D=x")]
    public void Malformed_paths_are_refused_with_a_reason(string argument)
    {
        Assert.False(SmtpGrammar.TryParsePath(argument, "FROM:", out _, out var error));
        Assert.StartsWith("Syntax:", error);
    }

    [Fact]
    public void Lines_are_taken_whole_and_an_overlong_one_is_dropped_not_buffered()
    {
        var discarding = false;
        var buffer = new ReadOnlySequence<byte>("NOOP\r\nQUI"u8.ToArray());
        Assert.True(SmtpGrammar.TryTakeLine(ref buffer, 100, ref discarding, out var line, out var tooLong));
        Assert.False(tooLong);
        Assert.Equal("NOOP", Encoding.ASCII.GetString(line));
        Assert.False(SmtpGrammar.TryTakeLine(ref buffer, 100, ref discarding, out _, out _));
        Assert.Equal(3, buffer.Length); // "QUI" waits for more

        var big = new ReadOnlySequence<byte>(new byte[500]);
        Assert.False(SmtpGrammar.TryTakeLine(ref big, 100, ref discarding, out _, out _));
        Assert.True(discarding);
        Assert.Equal(0, big.Length); // dropped, not kept
        var end = new ReadOnlySequence<byte>("more\r\nNOOP\r\n"u8.ToArray());
        Assert.True(SmtpGrammar.TryTakeLine(ref end, 100, ref discarding, out _, out tooLong));
        Assert.True(tooLong);
        Assert.True(SmtpGrammar.TryTakeLine(ref end, 100, ref discarding, out line, out tooLong));
        Assert.False(tooLong);
        Assert.Equal("NOOP", Encoding.ASCII.GetString(line));
    }

    public static TheoryData<string, string?, bool> DataCases() => new()
    {
        // input, expected content (null: not complete), bare line end seen
        { "a\r\nb\r\n.\r\n", "a\r\nb\r\n", false },
        { ".\r\n", "", false },
        { "..dot\r\n.\r\n", ".dot\r\n", false },
        { "a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", true },
        { "a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n", true },
        { "a\n.\r\nstill data\r\n.\r\n", "a\n.\r\nstill data\r\n", true },
        { "a\rb\r\n.\r\n", "a\nb\r\n", true },
        { "no end\r\n", null, false },
        { "no end\r\n.", null, false },
        { "x\r\n.\r\nafter", "x\r\n", false },
    };

    [Theory]
    [MemberData(nameof(DataCases))]
    public void Data_ends_only_on_crlf_dot_crlf_whether_fed_at_once_or_byte_by_byte(string input, string? expected, bool bare)
    {
        foreach (var chunk in new[] { int.MaxValue, 1, 2 })
        {
            var reader = new DataReader(1000, normaliseBareLineEnds: false);
            var bytes = Encoding.ASCII.GetBytes(input);
            var pending = Array.Empty<byte>();
            for (var i = 0; i < bytes.Length && !reader.Complete; i += chunk)
            {
                var piece = bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)).ToArray();
                var sequence = new ReadOnlySequence<byte>([.. pending, .. piece]);
                var consumed = reader.Consume(sequence);
                pending = sequence.Slice(consumed).ToArray();
            }

            Assert.Equal(expected is not null, reader.Complete);
            if (expected is not null)
            {
                Assert.Equal(expected, Encoding.ASCII.GetString(reader.ToArray()).Replace("\r", "\r").Replace("\n", "\n"));
                Assert.Equal(bare, reader.SawBareLineEnd);
            }
        }
    }

    [Fact]
    public void Normalising_turns_bare_line_ends_into_crlf_but_never_ends_on_them()
    {
        var reader = new DataReader(1000, normaliseBareLineEnds: true);
        reader.Consume(new ReadOnlySequence<byte>("a\n.\r\nb\r\n.\r\n"u8.ToArray()));
        Assert.True(reader.Complete);
        Assert.Equal("a\r\n.\r\nb\r\n", Encoding.ASCII.GetString(reader.ToArray()));
    }

    [Fact]
    public void Data_past_the_limit_is_counted_not_kept()
    {
        var reader = new DataReader(10, normaliseBareLineEnds: false);
        reader.Consume(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(new string('x', 5000) + "\r\n.\r\n")));
        Assert.True(reader.Complete);
        Assert.True(reader.TooBig);
        Assert.Equal(10, reader.Length);
    }

    [Theory]
    [InlineData(250, "2.0.0", "OK", true, "250 2.0.0 OK\r\n")]
    [InlineData(250, "2.0.0", "OK", false, "250 OK\r\n")]
    [InlineData(250, null, "one\ntwo", true, "250-one\r\n250 two\r\n")]
    public void Replies_format_as_rfc_5321_says(int code, string? enhanced, string text, bool ehlo, string expected) =>
        Assert.Equal(expected, new SmtpReply(code, enhanced, text).Format(ehlo));
}
