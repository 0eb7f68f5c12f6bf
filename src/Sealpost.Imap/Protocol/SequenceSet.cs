namespace Sealpost.Imap.Protocol;

/// <summary>
/// RFC 9051 sequence-set: numbers, ranges in either order (<c>4:2</c> is <c>2:4</c>), <c>*</c> for
/// the largest number in use, or <c>$</c> for the saved search result (RFC 5182). Ranges may reach
/// past the last message; resolving clips them.
/// </summary>
public sealed class SequenceSet
{
    /// <summary>
    /// Stands for '*' until the set is resolved: outside the 32-bit range, so an explicit 4294967295
    /// stays a number (a UID no message has) and never turns into the last message.
    /// </summary>
    public const long Star = long.MaxValue;

    private SequenceSet(IReadOnlyList<(long First, long Last)> ranges, bool saved)
    {
        Ranges = ranges;
        IsSaved = saved;
    }

    /// <summary>Ranges as written (First ≤ Last unless one end is '*', which is <see cref="Star"/>).</summary>
    public IReadOnlyList<(long First, long Last)> Ranges { get; }

    /// <summary>The set is "$", the result of the last SEARCH ... RETURN (SAVE).</summary>
    public bool IsSaved { get; }

    public static SequenceSet Saved { get; } = new([], true);

    public static bool TryParse(string text, out SequenceSet set)
    {
        set = Saved;
        if (text == "$")
        {
            return true;
        }

        var ranges = new List<(long, long)>();
        foreach (var part in text.Split(','))
        {
            var colon = part.IndexOf(':');
            if (colon < 0)
            {
                if (!TryNumber(part, out var n))
                {
                    return false;
                }

                ranges.Add((n, n));
            }
            else
            {
                if (!TryNumber(part[..colon], out var a) || !TryNumber(part[(colon + 1)..], out var b))
                {
                    return false;
                }

                ranges.Add(a <= b ? (a, b) : (b, a));
            }
        }

        set = new SequenceSet(ranges, false);
        return true;
    }

    private static bool TryNumber(string text, out long n)
    {
        n = 0;
        if (text == "*")
        {
            n = Star;
            return true;
        }

        // nz-number: no leading zero, not zero (RFC 9051 §9).
        uint number = 0;
        var ok = text.Length is > 0 and <= 10 && text[0] != '0' && text.All(char.IsAsciiDigit) && uint.TryParse(text, out number) && number != 0;
        n = number;
        return ok;
    }

    /// <summary>True if every number is within 1..<paramref name="max"/> once '*' means <paramref name="max"/> (a sequence-number set must be).</summary>
    public bool FitsWithin(uint max) => Ranges.All(r => (r.First == Star ? max : r.First) <= max && (r.Last == Star ? max : r.Last) <= max);

    /// <summary>The numbers in 1..<paramref name="max"/> the set names, ascending and distinct; '*' is <paramref name="max"/>.</summary>
    public IEnumerable<uint> Resolve(uint max)
    {
        if (max == 0)
        {
            yield break;
        }

        var normalised = Ranges
            .Select(r => (First: r.First == Star ? max : r.First, Last: r.Last == Star ? max : r.Last))
            .Select(r => r.First <= r.Last ? r : (First: r.Last, Last: r.First))
            .Where(r => r.First <= max)
            .Select(r => (r.First, Last: Math.Min(r.Last, max)))
            .OrderBy(r => r.First)
            .ToList();
        long next = 1;
        foreach (var (first, last) in normalised)
        {
            for (var n = Math.Max(first, next); n <= last; n++)
            {
                yield return (uint)n;
            }

            next = Math.Max(next, last + 1);
        }
    }

    /// <summary>Does the set hold <paramref name="n"/>, with '*' meaning <paramref name="max"/>?</summary>
    public bool Contains(uint n, uint max)
    {
        foreach (var (a, b) in Ranges)
        {
            var first = a == Star ? max : a;
            var last = b == Star ? max : b;
            if (first > last)
            {
                (first, last) = (last, first);
            }

            if (n >= first && n <= last)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Compact text for a list of ascending numbers: <c>1:3,7,9:10</c>.</summary>
    public static string Format(IEnumerable<uint> numbers)
    {
        var sb = new System.Text.StringBuilder();
        uint? start = null;
        uint previous = 0;
        foreach (var n in numbers)
        {
            if (start is not null && n == previous + 1)
            {
                previous = n;
                continue;
            }

            if (start is not null)
            {
                Append(sb, start.Value, previous);
            }

            start = n;
            previous = n;
        }

        if (start is not null)
        {
            Append(sb, start.Value, previous);
        }

        return sb.ToString();

        static void Append(System.Text.StringBuilder sb, uint a, uint b)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(a);
            if (b != a)
            {
                sb.Append(':').Append(b);
            }
        }
    }

    public override string ToString() => IsSaved ? "$" : string.Join(',', Ranges.Select(r => r.First == r.Last ? N(r.First) : N(r.First) + ":" + N(r.Last)));

    private static string N(long n) => n == Star ? "*" : n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
