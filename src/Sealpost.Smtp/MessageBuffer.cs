using Sealpost.Core.Connections;

namespace Sealpost.Smtp;

/// <summary>
/// Message data as it arrives (DATA or BDAT): 64 KiB segments, so growing never copies what came
/// before and no large array is made until the whole message is there. Octets past the size limit,
/// or beyond the shared memory budget, are dropped and noted; the session reads to the end and
/// then refuses. Memory is reserved segment by segment as data arrives; Dispose returns it all.
/// </summary>
public sealed class MessageBuffer(long maxBytes, MessageMemoryBudget? budget, string? holder = null) : IDisposable
{
    private const int SegmentSize = 64 * 1024;
    private readonly List<byte[]> _segments = [];
    private int _used = SegmentSize; // no segment yet: the "current" one is full
    private long _reserved;
    private long _allocated;

    public long Length { get; private set; }

    /// <summary>Past <c>maxBytes</c>.</summary>
    public bool TooBig { get; private set; }

    /// <summary>The shared budget had no room for more.</summary>
    public bool OverBudget { get; private set; }

    private bool Dropping => TooBig || OverBudget;

    public void Write(byte b)
    {
        if (Room())
        {
            _segments[^1][_used++] = b;
            Length++;
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && Room())
        {
            var take = (int)Math.Min(Math.Min(data.Length, SegmentSize - _used), maxBytes - Length);
            data[..take].CopyTo(_segments[^1].AsSpan(_used));
            _used += take;
            Length += take;
            data = data[take..];
        }
    }

    /// <summary>The whole message as one array (exact size); the segments are let go.</summary>
    public byte[] ToArray()
    {
        var result = GC.AllocateUninitializedArray<byte>(checked((int)Length));
        var offset = 0;
        foreach (var segment in _segments)
        {
            var take = (int)Math.Min(SegmentSize, Length - offset);
            segment.AsSpan(0, take).CopyTo(result.AsSpan(offset));
            offset += take;
        }

        _segments.Clear(); // the reservation stays until Dispose: the array lives on through delivery
        _used = SegmentSize;
        return result;
    }

    public void Dispose()
    {
        _segments.Clear();
        budget?.Release(_reserved, holder);
        _reserved = 0;
    }

    // Room for at least one more octet (callers write up to the segment's end and the limit).
    private bool Room()
    {
        if (Dropping)
        {
            return false;
        }

        if (Length >= maxBytes)
        {
            TooBig = true;
            return false;
        }

        if (_used < SegmentSize)
        {
            return true;
        }

        if (budget is not null && _allocated + SegmentSize > _reserved)
        {
            var more = _allocated + SegmentSize - _reserved;
            if (!budget.TryReserve(more, holder))
            {
                OverBudget = true;
                return false;
            }

            _reserved += more;
        }

        _allocated += SegmentSize;
        _segments.Add(GC.AllocateUninitializedArray<byte>(SegmentSize));
        _used = 0;
        return true;
    }
}
