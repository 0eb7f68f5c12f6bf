using System.Buffers;

namespace Sealpost.Imap.Protocol;

public enum FrameStatus
{
    /// <summary>The buffer does not yet hold a whole command.</summary>
    NeedMore,
    /// <summary>A whole command (with its literals inline) is the first <c>Length</c> octets.</summary>
    Complete,
    /// <summary>A synchronising literal was announced: send a continuation request, then frame again.</summary>
    NeedContinuation,
    /// <summary>A line outside literals passed the limit; the rest of the command is unusable.</summary>
    LineTooLong,
    /// <summary>A literal larger than the limit was announced.</summary>
    LiteralTooLarge,
}

/// <summary>Where the framer is inside the command at the head of the buffer.</summary>
public struct FramerState
{
    /// <summary>Octets of the current command already scanned (lines and literals).</summary>
    public long Scanned;
    /// <summary>Octets of the current literal still to come.</summary>
    public long LiteralRemaining;
    /// <summary>Octets of all literals announced in the current command so far.</summary>
    public long Literals;

    public void Reset() => this = default;
}

/// <summary>An announced literal (RFC 9051 §4.3, RFC 7888 LITERAL+/-, RFC 3516 literal8).</summary>
public readonly record struct LiteralInfo(long Size, bool Synchronising, bool Binary);

/// <summary>
/// Finds where one command ends, pure and incremental (STYLE §1): a command is lines joined by
/// literals, so it ends at the first CRLF that is not followed by a literal announced as
/// <c>{n}</c>, <c>{n+}</c> or <c>~{n}</c>. The framer never copies: the session takes the framed
/// octets and hands them to <see cref="ImapParser"/>.
/// </summary>
public static class ImapFramer
{
    public static FrameStatus TryFrame(ReadOnlySequence<byte> buffer, ref FramerState state, int maxLine, long maxLiteral, out long length, out LiteralInfo literal)
    {
        length = 0;
        literal = default;
        while (true)
        {
            if (state.LiteralRemaining > 0)
            {
                var available = buffer.Length - state.Scanned;
                if (available < state.LiteralRemaining)
                {
                    return FrameStatus.NeedMore;
                }

                state.Scanned += state.LiteralRemaining;
                state.LiteralRemaining = 0;
            }

            var rest = buffer.Slice(state.Scanned);
            var lf = rest.PositionOf((byte)'\n');
            if (lf is null)
            {
                if (rest.Length > maxLine)
                {
                    return FrameStatus.LineTooLong;
                }

                return FrameStatus.NeedMore;
            }

            var line = rest.Slice(0, lf.Value);
            if (line.Length > maxLine)
            {
                length = state.Scanned + line.Length + 1;
                return FrameStatus.LineTooLong;
            }

            state.Scanned += line.Length + 1;
            if (!TryLiteralAtEnd(line, out literal))
            {
                length = state.Scanned;
                return FrameStatus.Complete;
            }

            if (literal.Size > maxLiteral)
            {
                length = state.Scanned;
                return FrameStatus.LiteralTooLarge;
            }

            state.LiteralRemaining = literal.Size;
            state.Literals += literal.Size;
            if (literal.Synchronising)
            {
                return FrameStatus.NeedContinuation;
            }
        }
    }

    /// <summary>Does the line (without LF) end in a literal announcement: <c>[~]{digits[+|-]}</c> and optional CR?</summary>
    internal static bool TryLiteralAtEnd(ReadOnlySequence<byte> line, out LiteralInfo literal)
    {
        literal = default;
        Span<byte> tail = stackalloc byte[32];
        var take = (int)Math.Min(line.Length, tail.Length);
        line.Slice(line.Length - take).CopyTo(tail);
        var t = tail[..take];
        if (t.Length > 0 && t[^1] == '\r')
        {
            t = t[..^1];
        }

        if (t.Length < 3 || t[^1] != '}')
        {
            return false;
        }

        var end = t.Length - 1;
        var synchronising = true;
        if (t[end - 1] is (byte)'+' or (byte)'-')
        {
            // RFC 7888: '+' and '-' both mark a non-synchronising literal (LITERAL- only limits its size).
            synchronising = false;
            end--;
        }

        var open = t[..end].LastIndexOf((byte)'{');
        if (open < 0 || open == end - 1)
        {
            return false;
        }

        long size = 0;
        for (var i = open + 1; i < end; i++)
        {
            if (t[i] is < (byte)'0' or > (byte)'9' || size > long.MaxValue / 10 - 10)
            {
                return false;
            }

            size = size * 10 + (t[i] - '0');
        }

        literal = new LiteralInfo(size, synchronising, open > 0 && t[open - 1] == '~');
        return true;
    }
}
