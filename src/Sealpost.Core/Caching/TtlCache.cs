using System.Collections.Concurrent;

namespace Sealpost.Core.Caching;

/// <summary>
/// A small time-bounded cache of directory answers for hot paths (SMTP delivery asks the same few
/// questions for every message). Entries live for <c>ttl</c>; a change made elsewhere (another node,
/// the admin CLI) is seen once its entry expires. Bounded: when full, expired entries go first, and
/// if none has expired everything goes (the next lookups simply reload). A zero ttl disables it.
/// Concurrent misses for one key may load twice; the answers are equal, so either may stay.
/// </summary>
public sealed class TtlCache<TKey, TValue>(TimeSpan ttl, int capacity, TimeProvider? time = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private sealed record Entry(TValue Value, long Expires);

    public bool Enabled => ttl > TimeSpan.Zero;

    public int Count => _entries.Count;

    public async ValueTask<TValue> GetOrLoadAsync(TKey key, Func<TKey, CancellationToken, Task<TValue>> load, CancellationToken ct)
    {
        if (!Enabled)
        {
            return await load(key, ct);
        }

        var now = _time.GetTimestamp();
        if (_entries.TryGetValue(key, out var entry) && now < entry.Expires)
        {
            return entry.Value;
        }

        var value = await load(key, ct);
        Set(key, value);
        return value;
    }

    public bool TryGet(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && _time.GetTimestamp() < entry.Expires)
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    public void Set(TKey key, TValue value)
    {
        if (!Enabled)
        {
            return;
        }

        var now = _time.GetTimestamp();
        if (_entries.Count >= capacity && !_entries.ContainsKey(key))
        {
            foreach (var stale in _entries.Where(e => e.Value.Expires <= now).Select(e => e.Key).ToList())
            {
                _entries.TryRemove(stale, out _);
            }

            if (_entries.Count >= capacity)
            {
                _entries.Clear();
            }
        }

        _entries[key] = new Entry(value, now + (long)(ttl.TotalSeconds * _time.TimestampFrequency));
    }

    /// <summary>Changes a live entry in place (e.g. usage after a delivery); a missing or expired one stays missing.</summary>
    public void Update(TKey key, Func<TValue, TValue> change)
    {
        var now = _time.GetTimestamp();
        while (_entries.TryGetValue(key, out var entry) && now < entry.Expires)
        {
            if (_entries.TryUpdate(key, entry with { Value = change(entry.Value) }, entry))
            {
                return;
            }
        }
    }

    public void Remove(TKey key) => _entries.TryRemove(key, out _);

    public void Clear() => _entries.Clear();
}
