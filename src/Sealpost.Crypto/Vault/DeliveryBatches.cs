using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// One delivery batch key of an account's key version: a random 32-byte key, sealed with HPKE to the
/// account's public key once, that wraps the content keys of the messages this node delivers to the
/// account for a short while. A reader opens the sealed key once (one X25519) and every message of the
/// batch with AES-GCM, instead of one X25519 per message. It lives in this node's memory only and is
/// zeroed when it retires.
/// </summary>
internal sealed class DeliveryBatch
{
    private readonly byte[] _key;
    private bool _retired;
    private int _count;

    public DeliveryBatch(long accountId, int keyVersion, byte[] publicKey, DateTimeOffset created)
    {
        AccountId = accountId;
        KeyVersion = keyVersion;
        PublicKey = publicKey;
        Created = created;
        Id = RandomNumberGenerator.GetBytes(ContentKeyWrap.BatchIdLength);
        _key = RandomNumberGenerator.GetBytes(32);
        Sealed = ContentKeyWrap.SealBatchKey(accountId, keyVersion, publicKey, Id, _key);
    }

    public long AccountId { get; }
    public int KeyVersion { get; }
    public byte[] PublicKey { get; }
    public DateTimeOffset Created { get; }
    public byte[] Id { get; }

    /// <summary>The batch key sealed to the account's public key: HPKE's enc and ciphertext.</summary>
    public byte[] Sealed { get; }

    public int Count => Volatile.Read(ref _count);

    /// <summary>The content key wrapped under this batch (kind 4); null once the batch has retired (take a new one).</summary>
    public byte[]? TryWrap(byte[] messageId, byte[] contentKey)
    {
        lock (_key)
        {
            if (_retired)
            {
                return null;
            }

            _count++;
            return ContentKeyWrap.WrapBatch(this, _key, messageId, contentKey);
        }
    }

    /// <summary>Ends the batch: its key is zeroed; a wrap in progress finishes first (same lock).</summary>
    public void Retire()
    {
        lock (_key)
        {
            _retired = true;
            CryptographicOperations.ZeroMemory(_key);
        }
    }
}

/// <summary>
/// This node's delivery batch keys, one per account key version at a time, each used for at most
/// <see cref="MaxMessages"/> messages and <c>lifetime</c>; a zero lifetime turns batches off (one HPKE per
/// message). What it costs: whoever reads this process's memory learns the batch keys in use, which
/// open the messages delivered through this node under them (at most the last <c>lifetime</c> of each
/// account's mail), where per-message HPKE keeps nothing delivered earlier. docs/security.md says so.
/// </summary>
public sealed class DeliveryBatches(TimeSpan lifetime, TimeProvider? time = null) : IDisposable
{
    public const int MaxMessages = 10_000;
    private const int MaxAccounts = 50_000;
    private readonly ConcurrentDictionary<(long AccountId, int KeyVersion), DeliveryBatch> _current = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    public bool Enabled => lifetime > TimeSpan.Zero;

    /// <summary>The content key wrapped for <paramref name="recipient"/>: under its current batch, or with HPKE when batches are off.</summary>
    public byte[] Wrap(SealRecipient recipient, byte[] messageId, byte[] contentKey)
    {
        if (!Enabled)
        {
            return ContentKeyWrap.WrapHpke(recipient.AccountId, recipient.KeyVersion, recipient.PublicKey, messageId, contentKey);
        }

        while (true)
        {
            var batch = Current(recipient);
            if (batch.TryWrap(messageId, contentKey) is { } wrapped)
            {
                return wrapped;
            }
        }
    }

    private DeliveryBatch Current(SealRecipient recipient)
    {
        var key = (recipient.AccountId, recipient.KeyVersion);
        var now = _time.GetUtcNow();
        if (_current.TryGetValue(key, out var batch) && batch.Count < MaxMessages && now - batch.Created < lifetime
            && batch.PublicKey.AsSpan().SequenceEqual(recipient.PublicKey))
        {
            return batch;
        }

        if (_current.Count >= MaxAccounts || now - _lastSweep >= lifetime)
        {
            _lastSweep = now; // batches of accounts that get no more mail retire too, not only when replaced
            RetireExpired(now);
        }

        var fresh = new DeliveryBatch(recipient.AccountId, recipient.KeyVersion, recipient.PublicKey, now);
        if (batch is null ? _current.TryAdd(key, fresh) : _current.TryUpdate(key, fresh, batch))
        {
            batch?.Retire();
            return fresh;
        }

        fresh.Retire(); // another delivery made one first: use that
        return _current.TryGetValue(key, out var other) ? other : Current(recipient);
    }

    private void RetireExpired(DateTimeOffset now)
    {
        foreach (var (key, batch) in _current)
        {
            if (now - batch.Created >= lifetime && _current.TryRemove(new KeyValuePair<(long, int), DeliveryBatch>(key, batch)))
            {
                batch.Retire();
            }
        }
    }

    public void Dispose()
    {
        foreach (var batch in _current.Values)
        {
            batch.Retire();
        }

        _current.Clear();
    }
}
