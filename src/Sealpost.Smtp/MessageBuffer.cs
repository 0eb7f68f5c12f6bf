using Sealpost.Connections;

namespace Sealpost.Smtp;

/// <summary>
/// Message data as it arrives (DATA or BDAT): 64 KiB segments, so growing never copies what came
/// before and no large array is made until the whole message is there. Past <paramref name="spill"/>'s
/// threshold the segments go to a sealed file (<see cref="MessageSpill"/>), so a session receiving a
/// large message holds at most the threshold and one segment in memory. Octets past the size limit,
/// or beyond the shared budget of message data in flight, are dropped and noted; the session reads to
/// the end and then refuses. The budget is taken segment by segment as data arrives, on disk or not;
/// a message that ran out of budget gives its share back at once (it will be refused anyway, so the
/// others go on), and Dispose returns the rest.
/// </summary>
public sealed class MessageBuffer(long maxBytes, MessageMemoryBudget? budget, string? holder = null, SpillSettings? spill = null) : IDisposable
{
    public const int SegmentSize = 64 * 1024;
    private readonly List<byte[]> _segments = [];
    private MessageSpill? _file;
    private int _kept; // segments kept in memory before spilling began (the message's start)
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

    /// <summary>Whether some of the message waits on disk.</summary>
    public bool Spilled => _file is not null;

    /// <summary>The whole message as one array (exact size); the segments and the spill file are let go.</summary>
    public byte[] ToArray()
    {
        var result = GC.AllocateUninitializedArray<byte>(checked((int)Length));
        var offset = 0;
        void Copy(byte[] segment)
        {
            var take = (int)Math.Min(SegmentSize, Length - offset);
            segment.AsSpan(0, take).CopyTo(result.AsSpan(offset));
            offset += take;
        }

        var memory = _file is null ? _segments.Count : _kept;
        for (var i = 0; i < memory; i++)
        {
            Copy(_segments[i]);
        }

        if (_file is { } file)
        {
            var onDisk = checked((int)(file.Count * SegmentSize));
            file.ReadAll(result.AsSpan(offset, onDisk));
            offset += onDisk;
            if (_segments.Count > _kept)
            {
                Copy(_segments[^1]); // the segment being filled when the data ended
            }

            file.Dispose();
            _file = null;
        }

        _segments.Clear(); // the reservation stays until Dispose: the array lives on through delivery
        _used = SegmentSize;
        return result;
    }

    public void Dispose()
    {
        _segments.Clear();
        _file?.Dispose();
        _file = null;
        ReleaseAll();
    }

    private void ReleaseAll()
    {
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
                _segments.Clear(); // refused at its end whatever follows: what it holds goes back now
                _file?.Dispose();
                _file = null;
                ReleaseAll();
                return false;
            }

            _reserved += more;
        }

        _allocated += SegmentSize;
        if (spill is { } settings && _allocated > settings.MemoryBytes + SegmentSize)
        {
            // Past the threshold: the segment just filled goes to disk and its array is used again.
            if (_file is null)
            {
                _file = new MessageSpill(settings.Directory, SegmentSize);
                _kept = _segments.Count - 1;
            }

            _file.Append(_segments[^1]);
        }
        else
        {
            _segments.Add(GC.AllocateUninitializedArray<byte>(SegmentSize));
        }

        _used = 0;
        return true;
    }
}

/// <summary>Where and from what size a message being received goes to disk (Limits:MessageSpillBytes).</summary>
public sealed record SpillSettings(string Directory, long MemoryBytes);
