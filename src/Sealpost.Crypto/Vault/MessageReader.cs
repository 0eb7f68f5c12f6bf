using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Primitives;
using Sealpost.Mime;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// Opens messages for their owner's session. A content key still wrapped with HPKE (as delivered)
/// is re-wrapped under the account's symmetric key on first open, so later reads cost one AES-GCM
/// instead of an X25519 operation. Anything that fails authentication is refused, never served.
/// </summary>
public sealed class MessageReader(IMailStore store, ILogger<MessageReader> logger, MetadataCache? cache = null)
{
    private readonly MetadataCache _cache = cache ?? new MetadataCache(0);

    /// <summary>Above this many cache misses, metadata is read for the whole UID span in one query instead of message by message.</summary>
    private const int BulkReadThreshold = 32;

    /// <summary>
    /// The metadata of messages the caller has already listed (one mailbox), from the in-memory cache
    /// where possible: a repeated SEARCH or ENVELOPE fetch decrypts nothing. Null marks a message that
    /// failed authentication or has no metadata.
    /// </summary>
    public async Task<MessageMetadata?[]> MetadataForAsync(IAccountSession session, long mailboxId, IReadOnlyList<MessageRecord> records, CancellationToken ct = default)
    {
        var result = new MessageMetadata?[records.Count];
        var misses = new List<int>();
        for (var i = 0; i < records.Count; i++)
        {
            if (CacheKey(records[i]) is { } id && _cache.TryGet(session.AccountId, id, out var cached))
            {
                result[i] = cached;
            }
            else if (records[i].WrappedKey is not null)
            {
                misses.Add(i);
            }
        }

        if (misses.Count == 0)
        {
            return result;
        }

        if (misses.Count > BulkReadThreshold)
        {
            var range = new UidRange(records[misses[0]].Uid, records[misses[^1]].Uid);
            var byUid = new Dictionary<uint, MessageMetadata?>();
            foreach (var (message, view) in await ReadMetadataAsync(session, mailboxId, range, ct))
            {
                byUid[message.Uid] = view?.Value;
            }

            foreach (var i in misses)
            {
                result[i] = byUid.GetValueOrDefault(records[i].Uid);
            }
        }
        else
        {
            var s = (AccountSession)session;
            var rewrap = new System.Collections.Concurrent.ConcurrentBag<(uint, byte[])>();
            using var cipher = new AesGcm(s.Current.ContentWrapKey, 16);
            foreach (var i in misses)
            {
                var sealedMetadata = await store.GetBlobMetadataAsync(records[i].BlobId, ct);
                result[i] = OpenMetadata(s, records[i], sealedMetadata, rewrap, cipher)?.Value;
            }

            if (!rewrap.IsEmpty)
            {
                await store.UpdateWrappedKeysAsync(mailboxId, rewrap.OrderBy(r => r.Item1).ToList(), ct);
            }
        }

        foreach (var i in misses)
        {
            if (result[i] is { } metadata && CacheKey(records[i]) is { } id)
            {
                _cache.Add(session.AccountId, id, metadata);
            }
        }

        return result;
    }

    private static Guid? CacheKey(MessageRecord record) =>
        record.WrappedKey is { Length: >= 22 } wrapped ? new Guid(wrapped.AsSpan(6, 16)) : null;

    public async Task<OpenedMessage> OpenAsync(IAccountSession session, MessageRecord message, CancellationToken ct = default)
    {
        var s = (AccountSession)session;
        var (contentKey, messageId) = Unwrap(s, message);
        var (bodyKey, metadataKey) = SealedMessageCodec.DeriveKeys(contentKey);
        CryptographicOperations.ZeroMemory(contentKey);
        await RewrapIfNeededAsync(s, message, messageId, ct);
        return new OpenedMessage(store, message, messageId, bodyKey, metadataKey, () => VaultLog.MessageTampered(logger, s.AccountId, message.MailboxId, message.Uid));
    }

    /// <summary>
    /// The metadata of every message in a UID range: one store read, then each message's metadata
    /// decrypted and authenticated (symmetric only, once re-wrapped). Parsing is deferred to first
    /// use, since a listing often needs flags or sizes only; null marks a message that failed authentication.
    /// </summary>
    public async Task<IReadOnlyList<(MessageRecord Message, SealedMetadataView? Metadata)>> ReadMetadataAsync(IAccountSession session, long mailboxId, UidRange range, CancellationToken ct = default)
    {
        var s = (AccountSession)session;
        var mailbox = await store.GetMailboxAsync(mailboxId, ct) ?? throw SealpostException.NotFound("mailbox does not exist");
        var last = Math.Min(range.Last, mailbox.UidNext == 0 ? 0 : mailbox.UidNext - 1);
        var rewrap = new System.Collections.Concurrent.ConcurrentBag<(uint, byte[])>();
        // Large ranges are cut into one UID slice per core: each slice is read on its own connection and
        // decrypted as soon as it arrives, so reading and decrypting overlap instead of following each other.
        var slices = last < range.First ? [range] : Slices(range.First, last, (last - range.First) >= 2000 ? Environment.ProcessorCount : 1);
        var parts = await Task.WhenAll(slices.Select(slice => Task.Run(async () =>
        {
            var rows = await store.ListMessagesWithMetadataAsync(mailboxId, slice, ct);
            var result = new (MessageRecord, SealedMetadataView?)[rows.Count];
            using var cipher = new AesGcm(s.Current.ContentWrapKey, 16); // one per slice, not one per message
            for (var i = 0; i < rows.Count; i++)
            {
                var (message, sealedMetadata) = rows[i];
                result[i] = (message, OpenMetadata(s, message, sealedMetadata, rewrap, cipher));
            }

            return result;
        }, ct)));

        if (!rewrap.IsEmpty)
        {
            await store.UpdateWrappedKeysAsync(mailboxId, rewrap.OrderBy(r => r.Item1).ToList(), ct);
        }

        return parts.SelectMany(p => p).ToList();
    }

    internal static List<UidRange> Slices(uint first, uint last, int count)
    {
        var slices = new List<UidRange>(count);
        var width = ((ulong)last - first + 1) / (ulong)count;
        var start = (ulong)first;
        for (var i = 0; i < count; i++)
        {
            var end = i == count - 1 ? last : (uint)Math.Min(last, start + width - 1);
            slices.Add(new UidRange((uint)start, end));
            start = (ulong)end + 1;
        }

        return slices;
    }

    private SealedMetadataView? OpenMetadata(AccountSession s, MessageRecord message, byte[]? sealedMetadata, System.Collections.Concurrent.ConcurrentBag<(uint, byte[])> rewrap, AesGcm cipher)
    {
        try
        {
            if (message.WrappedKey is null)
            {
                throw new SealpostException(ErrorKind.Forbidden, "the message has no key for this account");
            }

            var messageId = ContentKeyWrap.Describe(message.WrappedKey).MessageId;
            var contentKey = ContentKeyWrap.Unwrap(s, message.WrappedKey, cipher);
            if (ContentKeyWrap.Describe(message.WrappedKey!).Kind == ContentKeyWrap.KindHpke)
            {
                rewrap.Add((message.Uid, ContentKeyWrap.WrapSymmetric(s.Current, s.AccountId, messageId, contentKey)));
            }

            var metadataKey = SealedMessageCodec.DeriveMetadataKey(contentKey);
            CryptographicOperations.ZeroMemory(contentKey);
            try
            {
                return sealedMetadata is null ? null : new SealedMetadataView(SealedMessageCodec.OpenMetadata(metadataKey, messageId, sealedMetadata));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(metadataKey);
            }
        }
        catch (Exception ex) when (ex is CryptographicException or SealpostException or System.Text.Json.JsonException)
        {
            VaultLog.MessageTampered(logger, s.AccountId, message.MailboxId, message.Uid);
            return null;
        }
    }

    private (byte[] ContentKey, byte[] MessageId) Unwrap(AccountSession session, MessageRecord message)
    {
        if (message.WrappedKey is null)
        {
            throw new SealpostException(ErrorKind.Forbidden, "the message has no key for this account");
        }

        try
        {
            var (_, _, messageId) = ContentKeyWrap.Describe(message.WrappedKey);
            return (ContentKeyWrap.Unwrap(session, message.WrappedKey), messageId);
        }
        catch (CryptographicException ex)
        {
            VaultLog.MessageTampered(logger, session.AccountId, message.MailboxId, message.Uid);
            throw new SealpostException(ErrorKind.Forbidden, "the message cannot be opened with this account's keys", ex);
        }
    }

    private async Task RewrapIfNeededAsync(AccountSession session, MessageRecord message, byte[] messageId, CancellationToken ct)
    {
        if (ContentKeyWrap.Describe(message.WrappedKey!).Kind != ContentKeyWrap.KindHpke)
        {
            return;
        }

        var contentKey = ContentKeyWrap.Unwrap(session, message.WrappedKey!);
        var wrapped = ContentKeyWrap.WrapSymmetric(session.Current, session.AccountId, messageId, contentKey);
        CryptographicOperations.ZeroMemory(contentKey);
        await store.UpdateWrappedKeysAsync(message.MailboxId, [(message.Uid, wrapped)], ct);
    }
}

/// <summary>Authenticated, decrypted metadata, parsed on first use.</summary>
public sealed class SealedMetadataView(byte[] plaintext)
{
    private MessageMetadata? _parsed;

    public MessageMetadata Value => _parsed ??= MetadataCodec.Deserialize(plaintext);
}

/// <summary>A message its owner's session has opened: whole, by range (only the segments needed), or its metadata.</summary>
public sealed class OpenedMessage : IDisposable
{
    private readonly IMailStore _store;
    private readonly byte[] _messageId;
    private readonly byte[] _bodyKey;
    private readonly byte[] _metadataKey;
    private readonly Action _onTamper;

    internal OpenedMessage(IMailStore store, MessageRecord message, byte[] messageId, byte[] bodyKey, byte[] metadataKey, Action onTamper)
    {
        _store = store;
        Message = message;
        _messageId = messageId;
        _bodyKey = bodyKey;
        _metadataKey = metadataKey;
        _onTamper = onTamper;
    }

    public MessageRecord Message { get; }

    public async Task<byte[]> ReadAllAsync(CancellationToken ct = default)
    {
        await using var blob = await _store.OpenBlobAsync(Message.BlobId, ct);
        var sealedBytes = new byte[blob.Length];
        await blob.ReadExactlyAsync(sealedBytes, ct);
        return Guard(() =>
        {
            CheckOwnership(sealedBytes);
            return ChunkedAead.Open(_bodyKey, sealedBytes);
        });
    }

    public async Task<byte[]> ReadRangeAsync(long offset, int count, CancellationToken ct = default)
    {
        await using var blob = await _store.OpenBlobAsync(Message.BlobId, ct);
        var header = new byte[ChunkedAead.HeaderLength];
        await blob.ReadExactlyAsync(header, ct);
        Guard(() =>
        {
            CheckOwnership(header);
            return 0;
        });
        try
        {
            return await ChunkedAead.ReadRangeAsync(_bodyKey, blob, offset, count, ct);
        }
        catch (CryptographicException ex)
        {
            _onTamper();
            throw new SealpostException(ErrorKind.Forbidden, "the message failed its integrity check", ex);
        }
    }

    public async Task<MessageMetadata> ReadMetadataAsync(CancellationToken ct = default)
    {
        var sealedMetadata = await _store.GetBlobMetadataAsync(Message.BlobId, ct) ?? throw SealpostException.NotFound("the message has no metadata");
        return Guard(() => MetadataCodec.Deserialize(SealedMessageCodec.OpenMetadata(_metadataKey, _messageId, sealedMetadata)));
    }

    /// <summary>The blob must be the one this row's key was made for (its header carries the message id).</summary>
    private void CheckOwnership(byte[] sealedHeader)
    {
        if (!ChunkedAead.ReadHeader(sealedHeader).MessageId.AsSpan().SequenceEqual(_messageId))
        {
            throw new CryptographicException("the blob belongs to another message");
        }
    }

    private T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (CryptographicException ex)
        {
            _onTamper();
            throw new SealpostException(ErrorKind.Forbidden, "the message failed its integrity check", ex);
        }
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_bodyKey);
        CryptographicOperations.ZeroMemory(_metadataKey);
    }
}
