using System.Collections.Concurrent;
using Sealpost.Mime;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// Decrypted message metadata kept in memory (never on disk), so that SEARCH, SORT and ENVELOPE
/// fetches do not decrypt and parse every message's metadata again. Entries are keyed by account
/// and the sealed message's random id, so a session can only hit entries for messages whose keys
/// its own account holds; metadata never changes once sealed, so entries need no invalidation.
/// Bounded: past the limit a quarter of the entries is dropped. docs/security.md lists this among
/// what a running node holds in memory.
/// </summary>
public sealed class MetadataCache(int capacity)
{
    // Sized for the bound up front (up to a million entries): a first SEARCH adding 100,000 entries otherwise
    // re-hashes the whole table at every doubling.
    private readonly ConcurrentDictionary<(long Account, Guid Message), MetadataView> _entries = new(Environment.ProcessorCount, Math.Clamp(capacity, 31, 1_000_000));

    // Counted here: ConcurrentDictionary.Count takes every one of its locks, and a first SEARCH over
    // 100,000 messages adds 100,000 entries (it had cost 6% of that SEARCH's CPU).
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public bool TryGet(long accountId, Guid messageId, out MetadataView metadata) =>
        _entries.TryGetValue((accountId, messageId), out metadata!);

    public void Add(long accountId, Guid messageId, MetadataView metadata)
    {
        if (capacity <= 0)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= capacity)
        {
            var i = 0;
            foreach (var key in _entries.Keys)
            {
                if (i++ % 4 == 0 && _entries.TryRemove(key, out _))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }

        if (_entries.TryAdd((accountId, messageId), metadata))
        {
            Interlocked.Increment(ref _count);
        }
    }
}
