namespace Sealpost.Connections;

/// <summary>
/// The octets of message data all sessions hold at once, SMTP messages being received and IMAP
/// literals (APPEND) together (<c>Limits:MaxMessageMemoryBytes</c>), and the share of it the
/// connections of one client address may hold (<c>Limits:MaxMessageMemoryPerAddressBytes</c>). What
/// does not fit is deferred (SMTP 452 4.3.1, IMAP NO [LIMIT]) instead of letting many large messages
/// at once, or one client's many connections, exhaust the server's memory.
/// </summary>
public sealed class MessageMemoryBudget(long capacity, long perHolder = long.MaxValue)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, long> _held = new(StringComparer.Ordinal);
    private long _used;

    public long Capacity => capacity;

    public long PerHolder => Math.Min(perHolder, capacity);

    public long Used
    {
        get
        {
            lock (_gate)
            {
                return _used;
            }
        }
    }

    /// <summary>What one holder (a client address) holds now.</summary>
    public long HeldBy(string holder)
    {
        lock (_gate)
        {
            return _held.GetValueOrDefault(holder);
        }
    }

    /// <summary>Sets octets aside for <paramref name="holder"/> (a client address; null: counted only in the total).</summary>
    public bool TryReserve(long bytes, string? holder = null)
    {
        lock (_gate)
        {
            if (_used + bytes > capacity)
            {
                return false;
            }

            if (holder is not null)
            {
                var held = _held.GetValueOrDefault(holder);
                if (held + bytes > perHolder)
                {
                    return false;
                }

                _held[holder] = held + bytes;
            }

            _used += bytes;
            return true;
        }
    }

    public void Release(long bytes, string? holder = null)
    {
        lock (_gate)
        {
            _used -= bytes;
            if (holder is not null && _held.TryGetValue(holder, out var held))
            {
                if (held - bytes <= 0)
                {
                    _held.Remove(holder);
                }
                else
                {
                    _held[holder] = held - bytes;
                }
            }
        }
    }
}
