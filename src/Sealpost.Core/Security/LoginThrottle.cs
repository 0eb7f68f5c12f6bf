using System.Collections.Concurrent;

namespace Sealpost.Core.Security;

/// <summary>
/// Failed-login accounting for every protocol (SMTP now; IMAP and the API reuse it). Failures are
/// counted per client address and per account over a sliding window; past either limit, further
/// attempts are refused without checking the password (so guessing costs the attacker time, not
/// us Argon2id work) until the window has passed. A success clears the account's count.
/// </summary>
public sealed class LoginThrottle(int maxPerAddress, int maxPerAccount, TimeSpan window, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Why a login is refused before its password is checked, or null if it may proceed.</summary>
    public string? Refusal(string clientAddress, string account)
    {
        if (Count("ip:" + clientAddress) >= maxPerAddress)
        {
            return "too many failed logins from this address";
        }

        return Count("acct:" + account.ToLowerInvariant()) >= maxPerAccount ? "too many failed logins for this account" : null;
    }

    public void Failed(string clientAddress, string account)
    {
        Add("ip:" + clientAddress);
        Add("acct:" + account.ToLowerInvariant());
    }

    public void Succeeded(string account) => _failures.TryRemove("acct:" + account.ToLowerInvariant(), out _);

    /// <summary>What is locked right now (for operators: counts only, addresses of clients, hashed account keys are the caller's business).</summary>
    public IReadOnlyList<(string Key, int Failures)> Locked() =>
        _failures.Keys.Select(k => (Key: k, Failures: Count(k)))
            .Where(e => e.Failures >= (e.Key.StartsWith("ip:", StringComparison.Ordinal) ? maxPerAddress : maxPerAccount))
            .ToList();

    private int Count(string key)
    {
        if (!_failures.TryGetValue(key, out var queue))
        {
            return 0;
        }

        lock (queue)
        {
            var cutoff = _time.GetUtcNow() - window;
            while (queue.Count > 0 && queue.Peek() < cutoff)
            {
                queue.Dequeue();
            }

            return queue.Count;
        }
    }

    private void Add(string key)
    {
        var queue = _failures.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            queue.Enqueue(_time.GetUtcNow());
            while (queue.Count > 1000)
            {
                queue.Dequeue();
            }
        }
    }
}

/// <summary>Connections in total and per client address, for one protocol.</summary>
public sealed class ConnectionGate(int maxTotal, int maxPerAddress)
{
    private readonly ConcurrentDictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>Takes a slot, or says why not. Dispose the returned lease when the connection ends.</summary>
    public IDisposable? TryEnter(string clientAddress, out string? refusal)
    {
        if (Interlocked.Increment(ref _total) > maxTotal)
        {
            Interlocked.Decrement(ref _total);
            refusal = "too many connections";
            return null;
        }

        if (_perAddress.AddOrUpdate(clientAddress, 1, (_, n) => n + 1) > maxPerAddress)
        {
            Leave(clientAddress);
            refusal = "too many connections from your address";
            return null;
        }

        refusal = null;
        return new Lease(this, clientAddress);
    }

    private void Leave(string clientAddress)
    {
        Interlocked.Decrement(ref _total);
        _perAddress.AddOrUpdate(clientAddress, 0, (_, n) => n - 1);
        _perAddress.TryRemove(new KeyValuePair<string, int>(clientAddress, 0));
    }

    private sealed class Lease(ConnectionGate gate, string address) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                gate.Leave(address);
            }
        }
    }
}
