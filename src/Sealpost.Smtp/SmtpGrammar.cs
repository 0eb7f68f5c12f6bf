using System.Buffers;
using System.Text;
using Sealpost.Connections;

namespace Sealpost.Smtp;

public enum SmtpVerb { Ehlo, Helo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Help, Vrfy, Expn, StartTls, Auth, Unknown }

public sealed record SmtpCommand(SmtpVerb Verb, string Argument);

/// <summary>A reverse- or forward-path with its ESMTP parameters (RFC 5321 §4.1.2). An empty address is the null path &lt;&gt;.</summary>
public sealed record SmtpPath(string Address, IReadOnlyDictionary<string, string?> Parameters);

/// <summary>
/// The command grammar, pure: bytes in, a command or an error out. No I/O, no state, so it is
/// table-tested and fuzzed on its own.
/// </summary>
public static class SmtpGrammar
{
    private static readonly Dictionary<string, SmtpVerb> Verbs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["EHLO"] = SmtpVerb.Ehlo, ["HELO"] = SmtpVerb.Helo, ["MAIL"] = SmtpVerb.Mail, ["RCPT"] = SmtpVerb.Rcpt, ["DATA"] = SmtpVerb.Data,
        ["BDAT"] = SmtpVerb.Bdat, ["RSET"] = SmtpVerb.Rset, ["NOOP"] = SmtpVerb.Noop, ["QUIT"] = SmtpVerb.Quit, ["HELP"] = SmtpVerb.Help,
        ["VRFY"] = SmtpVerb.Vrfy, ["EXPN"] = SmtpVerb.Expn, ["STARTTLS"] = SmtpVerb.StartTls, ["AUTH"] = SmtpVerb.Auth,
    };

    /// <summary>
    /// Takes one command line from the front of <paramref name="buffer"/>. Returns false when no
    /// complete line is there yet. A line longer than <paramref name="maxLength"/> is reported as
    /// too long once its end arrives (the bytes in between are dropped, so memory stays bounded).
    /// </summary>
    public static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, int maxLength, ref bool discarding, out ReadOnlySequence<byte> line, out bool tooLong)
    {
        tooLong = false;
        line = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> content, (byte)'\n', advancePastDelimiter: true))
        {
            if (buffer.Length > maxLength)
            {
                // Drop what we have of an over-long line and remember to drop the rest of it.
                discarding = true;
                buffer = buffer.Slice(buffer.End);
            }

            return false;
        }

        buffer = buffer.Slice(reader.Position);
        if (discarding || content.Length > maxLength)
        {
            discarding = false;
            tooLong = true;
            return true;
        }

        // RFC 5321 §2.3.8 wants CRLF; a bare LF ending a *command* is tolerated (the data phase is strict).
        line = content.Length > 0 && content.Slice(content.Length - 1).FirstSpan[0] == '\r' ? content.Slice(0, content.Length - 1) : content;
        return true;
    }

    public static SmtpCommand Parse(ReadOnlySpan<byte> line)
    {
        var text = Encoding.UTF8.GetString(line);
        var space = text.IndexOf(' ');
        var verb = space < 0 ? text : text[..space];
        var argument = space < 0 ? "" : text[(space + 1)..];
        return new SmtpCommand(Verbs.TryGetValue(verb, out var v) ? v : SmtpVerb.Unknown, argument);
    }

    /// <summary>Parses "FROM:&lt;a@b&gt; SIZE=10 BODY=8BITMIME" (or "TO:..."): RFC 5321 §4.1.2, §3.3.</summary>
    public static bool TryParsePath(string argument, string keyword, out SmtpPath path, out string error)
    {
        path = null!;
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
        {
            error = $"Syntax: expected {keyword}<address>";
            return false;
        }

        var rest = argument[keyword.Length..].TrimStart(); // some clients put a space after the colon
        if (!rest.StartsWith('<'))
        {
            error = "Syntax: the address must be in angle brackets";
            return false;
        }

        var close = rest.IndexOf('>');
        if (close < 0)
        {
            error = "Syntax: missing '>'";
            return false;
        }

        var address = rest[1..close];
        // RFC 5321 §4.1.2: a source route ("@a,@b:user@c") is accepted and ignored.
        if (address.StartsWith('@') && address.IndexOf(':') is var colon and > 0)
        {
            address = address[(colon + 1)..];
        }

        if (address.Any(c => c < 32 || c == 127))
        {
            error = "Syntax: control characters in the address";
            return false;
        }

        var parameters = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var token in rest[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = token.IndexOf('=');
            var name = eq < 0 ? token : token[..eq];
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                error = $"Syntax: bad parameter '{token}'";
                return false;
            }

            parameters[name] = eq < 0 ? null : token[(eq + 1)..];
        }

        path = new SmtpPath(address, parameters);
        error = "";
        return true;
    }
}

/// <summary>
/// The DATA phase (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and ends only on CRLF.CRLF.
/// "\n.\n", "\r.\r" and friends are data, not an end (the 2023 SMTP-smuggling attacks), and any bare
/// LF or CR is noted so the session can refuse or normalise the message by policy. Bytes past the
/// size limit are read and dropped, so an over-size message is refused after its end and the
/// session stays usable. Pure: feed it buffers, it says how far it got.
/// </summary>
public sealed class DataReader(long maxBytes, bool normaliseBareLineEnds, MessageMemoryBudget? budget = null, string? holder = null, SpillSettings? spill = null) : IDisposable
{
    private readonly MessageBuffer _content = new(maxBytes, budget, holder, spill);
    private bool _atLineStart = true;
    private bool _pendingCr;

    public bool Complete { get; private set; }
    public bool TooBig => _content.TooBig;
    public bool OverBudget => _content.OverBudget;
    public bool SawBareLineEnd { get; private set; }
    public long Length => _content.Length;

    public byte[] ToArray() => _content.ToArray();

    public void Dispose() => _content.Dispose();

    /// <summary>Consumes what it can from <paramref name="buffer"/>; returns the position it stopped at.</summary>
    public SequencePosition Consume(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (!Complete && !reader.End)
        {
            if (_atLineStart && !_pendingCr)
            {
                if (reader.IsNext((byte)'.'))
                {
                    if (reader.Remaining < 3)
                    {
                        // ".", ".\r": wait to see whether this is the end of data.
                        if (reader.Remaining == 2 && !reader.IsNext(".\r"u8))
                        {
                            reader.Advance(1); // dot-stuffed line
                            _atLineStart = false;
                            continue;
                        }

                        break;
                    }

                    if (reader.IsNext(".\r\n"u8))
                    {
                        reader.Advance(3);
                        Complete = true;
                        break;
                    }

                    reader.Advance(1); // RFC 5321 §4.5.2: remove the leading dot
                }

                _atLineStart = false;
            }

            if (!reader.TryPeek(out var b))
            {
                break;
            }

            reader.Advance(1);
            if (_pendingCr)
            {
                _pendingCr = false;
                if (b == '\n')
                {
                    Write((byte)'\r');
                    Write((byte)'\n');
                    _atLineStart = true;
                    continue;
                }

                BareLineEnd(); // a CR not followed by LF
            }

            switch (b)
            {
                case (byte)'\r':
                    _pendingCr = true;
                    break;
                case (byte)'\n':
                    BareLineEnd();
                    // Never a line start: "\n.\r\n" must not end the data in either policy, or a
                    // peer that reads it differently could have a second message smuggled past it.
                    _atLineStart = false;
                    break;
                default:
                    Write(b);
                    // The rest of an ordinary line in one go (no CR or LF in it to look at).
                    if (reader.TryReadToAny(out ReadOnlySequence<byte> run, "\r\n"u8, advancePastDelimiter: false))
                    {
                        WriteRun(run);
                    }
                    else
                    {
                        WriteRun(reader.UnreadSequence);
                        reader.AdvanceToEnd();
                    }

                    break;
            }
        }

        return reader.Position;
    }

    private void BareLineEnd()
    {
        SawBareLineEnd = true;
        if (normaliseBareLineEnds)
        {
            Write((byte)'\r');
            Write((byte)'\n');
        }
        else
        {
            Write((byte)'\n');
        }
    }

    private void Write(byte b) => _content.Write(b);

    private void WriteRun(ReadOnlySequence<byte> run)
    {
        foreach (var segment in run)
        {
            _content.Write(segment.Span);
        }
    }
}
