namespace Sealpost.Core.Connections;

/// <summary>
/// The octets of message data all sessions hold at once, SMTP messages being received and IMAP
/// literals (APPEND) together (<c>Limits:MaxMessageMemoryBytes</c>). What does not fit is deferred
/// (SMTP 452 4.3.1, IMAP NO [LIMIT]) instead of letting many large messages at once exhaust the
/// server's memory.
/// </summary>
public sealed class MessageMemoryBudget(long capacity)
{
    private long _used;

    public long Capacity => capacity;

    public long Used => Interlocked.Read(ref _used);

    public bool TryReserve(long bytes)
    {
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (used + bytes > capacity)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
