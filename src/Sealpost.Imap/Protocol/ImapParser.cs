using System.Globalization;
using System.Text;

namespace Sealpost.Imap.Protocol;

/// <summary>A command that does not follow the grammar: answered BAD, the session goes on.</summary>
public sealed class ImapParseException(string message) : Exception(message);

/// <summary>
/// Reads the tokens of one framed command (RFC 9051 §9 formal syntax), literals inline. Pure: it
/// knows bytes and grammar, nothing of mailboxes or storage. Every Read* either returns the token
/// and moves on, or throws <see cref="ImapParseException"/> naming what was expected.
/// </summary>
public sealed class ImapParser(ReadOnlyMemory<byte> command)
{
    private readonly ReadOnlyMemory<byte> _command = command;
    private int _pos;

    private ReadOnlySpan<byte> Bytes => _command.Span;

    public int Position => _pos;

    /// <summary>Literal8 was used somewhere (APPEND of binary content, RFC 3516).</summary>
    public bool SawLiteral8 { get; private set; }

    public bool AtEnd => _pos >= Bytes.Length || Bytes[_pos] is (byte)'\r' or (byte)'\n';

    public byte Peek => _pos < Bytes.Length ? Bytes[_pos] : (byte)0;

    public bool PeekIs(char c) => _pos < Bytes.Length && Bytes[_pos] == c;

    /// <summary>
    /// A parenthesised list of options, "(" [option *(SP option)] ")", each beginning with an atom
    /// (handed over upper-cased); <paramref name="option"/> reads whatever belongs to it after that atom.
    /// </summary>
    public void ReadOptionList(Action<string> option)
    {
        Expect('(');
        var first = true;
        while (!TryTake(')'))
        {
            if (!first)
            {
                Space();
            }

            first = false;
            option(ReadAtom().ToUpperInvariant());
        }
    }

    /// <summary>Is the next octet a space followed by <paramref name="c"/> (an optional argument list ahead)?</summary>
    public bool PeekSpaceThen(char c) => _pos + 1 < Bytes.Length && Bytes[_pos] == ' ' && Bytes[_pos + 1] == c;

    /// <summary>RFC 9051 tag: astring characters except '+'.</summary>
    public string ReadTag()
    {
        var start = _pos;
        while (_pos < Bytes.Length && IsAtomChar(Bytes[_pos], allowBracket: true) && Bytes[_pos] != '+')
        {
            _pos++;
        }

        if (_pos == start)
        {
            throw new ImapParseException("Missing tag");
        }

        return Encoding.ASCII.GetString(Bytes[start.._pos]);
    }

    public void Space()
    {
        if (!PeekIs(' '))
        {
            throw new ImapParseException("Expected a space");
        }

        _pos++;
    }

    public bool TrySpace()
    {
        if (PeekIs(' '))
        {
            _pos++;
            return true;
        }

        return false;
    }

    public void Expect(char c)
    {
        if (!PeekIs(c))
        {
            throw new ImapParseException(c switch { '\r' or '\n' => "Expected the end of a line", _ => $"Expected '{c}'" });
        }

        _pos++;
    }

    public bool TryTake(char c)
    {
        if (PeekIs(c))
        {
            _pos++;
            return true;
        }

        return false;
    }

    /// <summary>The end of the command: CRLF (a bare LF is tolerated) and nothing after it.</summary>
    public void End()
    {
        if (_pos < Bytes.Length && Bytes[_pos] == '\r')
        {
            _pos++;
        }

        if (_pos < Bytes.Length && Bytes[_pos] == '\n')
        {
            _pos++;
        }

        if (_pos != Bytes.Length)
        {
            throw new ImapParseException("Unexpected characters at the end of the command");
        }
    }

    /// <summary>An atom (RFC 9051 ATOM-CHAR); <paramref name="allowBracket"/> also lets ']' through (flags, section names).</summary>
    public string ReadAtom(bool allowBracket = false)
    {
        var start = _pos;
        while (_pos < Bytes.Length && IsAtomChar(Bytes[_pos], allowBracket))
        {
            _pos++;
        }

        if (_pos == start)
        {
            throw new ImapParseException("Expected an atom");
        }

        return Encoding.ASCII.GetString(Bytes[start.._pos]);
    }

    /// <summary>A flag: an atom, optionally with a leading backslash (system flags, \* in PERMANENTFLAGS).</summary>
    public string ReadFlag()
    {
        if (TryTake('\\'))
        {
            return "\\" + ReadAtom();
        }

        return ReadAtom();
    }

    public string ReadAString(bool utf8 = true) => Encoding.UTF8.GetString(ReadAStringBytes(utf8));

    /// <summary>astring: atom (with ']' allowed), quoted string or literal.</summary>
    public byte[] ReadAStringBytes(bool utf8 = true)
    {
        // '~' is an atom character; it opens a literal8 only when '{' follows (RFC 3516 §4.2).
        if (PeekIs('"') || PeekLiteral)
        {
            return ReadStringBytes();
        }

        var start = _pos;
        while (_pos < Bytes.Length && (IsAtomChar(Bytes[_pos], allowBracket: true) || (utf8 && Bytes[_pos] >= 0x80)))
        {
            _pos++;
        }

        if (_pos == start)
        {
            throw new ImapParseException("Expected an atom, a quoted string or a literal");
        }

        return Bytes[start.._pos].ToArray();
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadStringBytes());

    /// <summary>nstring: NIL or a string.</summary>
    public string? ReadNString()
    {
        if (TryKeyword("NIL"))
        {
            return null;
        }

        return ReadString();
    }

    /// <summary>A quoted string (with \" and \\ escapes) or a literal / literal8.</summary>
    public byte[] ReadStringBytes()
    {
        if (PeekIs('"'))
        {
            _pos++;
            var result = new List<byte>();
            while (true)
            {
                if (_pos >= Bytes.Length || Bytes[_pos] is (byte)'\r' or (byte)'\n')
                {
                    throw new ImapParseException("Unterminated quoted string");
                }

                var b = Bytes[_pos++];
                if (b == '"')
                {
                    return result.ToArray();
                }

                if (b == '\\')
                {
                    // RFC 9051 quoted-specials: only \" and \\ may be escaped.
                    if (_pos >= Bytes.Length || Bytes[_pos] is not ((byte)'"' or (byte)'\\'))
                    {
                        throw new ImapParseException("Bad escape in quoted string");
                    }

                    b = Bytes[_pos++];
                }

                if (b == 0)
                {
                    throw new ImapParseException("NUL in quoted string");
                }

                result.Add(b);
            }
        }

        return ReadLiteral().ToArray();
    }

    /// <summary>The octets of a literal whose announcement starts here (the framer has checked the size).</summary>
    public ReadOnlyMemory<byte> ReadLiteral()
    {
        var binary = TryTake('~');
        Expect('{');
        long size = 0;
        var digits = 0;
        while (Peek is >= (byte)'0' and <= (byte)'9')
        {
            size = size * 10 + (Bytes[_pos++] - '0');
            if (++digits > 18)
            {
                throw new ImapParseException("Literal size out of range");
            }
        }

        if (digits == 0)
        {
            throw new ImapParseException("Expected a literal size");
        }

        _ = TryTake('+') || TryTake('-');
        Expect('}');
        _ = TryTake('\r');
        Expect('\n');
        if (size > Bytes.Length - _pos)
        {
            throw new ImapParseException("Literal shorter than announced");
        }

        var literal = _command.Slice(_pos, (int)size);
        if (!binary && literal.Span.IndexOf((byte)0) >= 0)
        {
            // RFC 9051 §4.3: NUL is only allowed in literal8.
            throw new ImapParseException("NUL octet in a literal; use literal8 (~{n}) for binary content");
        }

        SawLiteral8 |= binary;
        _pos += (int)size;
        return literal;
    }

    public bool PeekLiteral => PeekIs('{') || (PeekIs('~') && _pos + 1 < Bytes.Length && Bytes[_pos + 1] == '{');

    /// <summary>Takes a case-insensitive keyword if it is next and followed by a delimiter.</summary>
    public bool TryKeyword(string keyword)
    {
        if (_pos + keyword.Length > Bytes.Length)
        {
            return false;
        }

        for (var i = 0; i < keyword.Length; i++)
        {
            if (char.ToUpperInvariant((char)Bytes[_pos + i]) != keyword[i])
            {
                return false;
            }
        }

        var after = _pos + keyword.Length;
        if (after < Bytes.Length && IsAtomChar(Bytes[after], allowBracket: false) && Bytes[after] != '[')
        {
            return false;
        }

        _pos = after;
        return true;
    }

    public uint ReadNumber()
    {
        var n = ReadNumber64();
        if (n > uint.MaxValue)
        {
            throw new ImapParseException("Number out of range");
        }

        return (uint)n;
    }

    /// <summary>RFC 9051 number64 (MODSEQ, sizes).</summary>
    public ulong ReadNumber64()
    {
        var start = _pos;
        ulong n = 0;
        while (Peek is >= (byte)'0' and <= (byte)'9')
        {
            var next = n * 10 + (ulong)(Bytes[_pos++] - '0');
            if (next < n || _pos - start > 19)
            {
                throw new ImapParseException("Number out of range");
            }

            n = next;
        }

        if (_pos == start)
        {
            throw new ImapParseException("Expected a number");
        }

        return n;
    }

    /// <summary>nz-number: a number that is not zero.</summary>
    public uint ReadNzNumber()
    {
        var n = ReadNumber();
        if (n == 0)
        {
            throw new ImapParseException("Zero is not a valid message number");
        }

        return n;
    }

    public SequenceSet ReadSequenceSet()
    {
        var start = _pos;
        while (_pos < Bytes.Length && Bytes[_pos] is (>= (byte)'0' and <= (byte)'9') or (byte)':' or (byte)',' or (byte)'*' or (byte)'$')
        {
            _pos++;
        }

        if (!SequenceSet.TryParse(Encoding.ASCII.GetString(Bytes[start.._pos]), out var set))
        {
            throw new ImapParseException("Bad sequence set");
        }

        return set;
    }

    /// <summary>A parenthesised list of flags: <c>(\Seen $Label)</c>.</summary>
    public List<string> ReadFlagList()
    {
        Expect('(');
        var flags = new List<string>();
        while (!TryTake(')'))
        {
            if (flags.Count > 0)
            {
                Space();
            }

            flags.Add(ReadFlag());
        }

        return flags;
    }

    /// <summary>RFC 9051 date-time: <c>"dd-Mon-yyyy hh:mm:ss +zzzz"</c> (day may be space-padded).</summary>
    public DateTimeOffset ReadDateTime()
    {
        var text = Encoding.ASCII.GetString(ReadStringBytes());
        if (!ImapDates.TryParseDateTime(text, out var value))
        {
            throw new ImapParseException("Bad date-time");
        }

        return value;
    }

    /// <summary>RFC 9051 date: <c>d-Mon-yyyy</c>, quoted or not.</summary>
    public DateOnly ReadDate()
    {
        var text = PeekIs('"') ? Encoding.ASCII.GetString(ReadStringBytes()) : ReadAtom();
        if (!ImapDates.TryParseDate(text, out var value))
        {
            throw new ImapParseException("Bad date");
        }

        return value;
    }

    /// <summary>Everything up to the end of the line (for AUTHENTICATE responses).</summary>
    public string ReadRestOfLine()
    {
        var start = _pos;
        while (!AtEnd)
        {
            _pos++;
        }

        return Encoding.ASCII.GetString(Bytes[start.._pos]);
    }

    /// <summary>RFC 9051 ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ].</summary>
    public static bool IsAtomChar(byte b, bool allowBracket) =>
        b > 0x20 && b < 0x7f && b is not ((byte)'(' or (byte)')' or (byte)'{' or (byte)'%' or (byte)'*' or (byte)'"' or (byte)'\\')
        && (allowBracket || b != ']');

    /// <summary>A list-mailbox: like an astring but '%' and '*' are allowed (LIST patterns).</summary>
    public byte[] ReadListMailbox(bool utf8)
    {
        if (PeekIs('"') || PeekLiteral)
        {
            return ReadStringBytes();
        }

        var start = _pos;
        while (_pos < Bytes.Length && (IsAtomChar(Bytes[_pos], true) || Bytes[_pos] is (byte)'%' or (byte)'*' || (utf8 && Bytes[_pos] >= 0x80)))
        {
            _pos++;
        }

        if (_pos == start)
        {
            throw new ImapParseException("Expected a mailbox pattern");
        }

        return Bytes[start.._pos].ToArray();
    }
}

/// <summary>IMAP date and date-time text (RFC 9051 §9 date-time, date).</summary>
public static class ImapDates
{
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    public static bool TryParseDate(string text, out DateOnly date)
    {
        date = default;
        var parts = text.Split('-');
        if (parts.Length != 3 || parts[0].Length is < 1 or > 2 || parts[2].Length != 4)
        {
            return false;
        }

        var month = Array.FindIndex(Months, m => m.Equals(parts[1], StringComparison.OrdinalIgnoreCase));
        if (month < 0 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var day) ||
            !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var year) ||
            day < 1 || year < 1 || year > 9999 || day > DateTime.DaysInMonth(year, month + 1))
        {
            return false;
        }

        date = new DateOnly(year, month + 1, day);
        return true;
    }

    public static bool TryParseDateTime(string text, out DateTimeOffset value)
    {
        value = default;
        // "dd-Mon-yyyy hh:mm:ss +zzzz", day space-padded or two digits.
        if (text.Length != 26 || text[11] != ' ' || text[20] != ' ')
        {
            return false;
        }

        if (!TryParseDate(text[..11].TrimStart(), out var date))
        {
            return false;
        }

        if (!TimeOnly.TryParseExact(text[12..20], "HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            return false;
        }

        var zone = text[21..];
        if (zone[0] is not ('+' or '-') || !int.TryParse(zone[1..3], NumberStyles.None, CultureInfo.InvariantCulture, out var zh) ||
            !int.TryParse(zone[3..5], NumberStyles.None, CultureInfo.InvariantCulture, out var zm) || zh > 23 || zm > 59)
        {
            return false;
        }

        var offset = new TimeSpan(zh, zm, 0) * (zone[0] == '-' ? -1 : 1);
        try
        {
            // The grammar allows any zone up to 23:59 (RFC 9051 §9 "zone"); .NET offsets stop at 14:00,
            // so a zone beyond that keeps its instant and is expressed in UTC.
            value = offset.Duration() <= TimeSpan.FromHours(14)
                ? new DateTimeOffset(date.ToDateTime(time), offset)
                : new DateTimeOffset(DateTime.SpecifyKind(date.ToDateTime(time) - offset, DateTimeKind.Utc));
        }
        catch (ArgumentOutOfRangeException)
        {
            return false; // before the year 1 or after 9999 in UTC
        }

        return true;
    }

    /// <summary>INTERNALDATE as IMAP writes it: <c>"07-Feb-1994 21:52:25 -0800"</c>.</summary>
    public static string FormatDateTime(DateTimeOffset value)
    {
        var offset = value.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        offset = offset.Duration();
        return string.Create(CultureInfo.InvariantCulture,
            $"{value.Day:00}-{Months[value.Month - 1]}-{value.Year:0000} {value.Hour:00}:{value.Minute:00}:{value.Second:00} {sign}{offset.Hours:00}{offset.Minutes:00}");
    }
}
