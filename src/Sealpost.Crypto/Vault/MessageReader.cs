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
/// Opens messages for their owner's session. A content key still wrapped with HPKE (as delivered), or
/// under the account's symmetric key (before folder keys), or under another folder's key (copied,
/// moved) is re-wrapped under its folder's key on first open, so later reads cost one AES-GCM and the
/// folder opens with its key alone. Reads do not wait for those writes: a background writer batches
/// them (<see cref="DeferredRewraps"/>). Anything that fails authentication is refused, never served.
/// </summary>
public sealed class MessageReader(IMailStore store, ILogger<MessageReader> logger, MetadataCache? cache = null) : IAsyncDisposable
{
    private readonly MetadataCache _cache = cache ?? new MetadataCache(0);
    private readonly DeferredRewraps _rewraps = new(store, logger);
    private Lazy<BackgroundRewrap>? _afterLogin;

    private readonly ForegroundReads _foreground = new();

    /// <summary>
    /// Marks a user's large read (a first SEARCH over a big mailbox: listing, metadata, matching) until disposed:
    /// the background re-wrap waits for it (<see cref="ForegroundReads"/>).
    /// </summary>
    public IDisposable LargeRead() => _foreground.Begin();

    internal ForegroundReads Foreground => _foreground;

    /// <summary>Completes once every re-wrap found by reads so far is written.</summary>
    public Task FlushRewrapsAsync(CancellationToken ct = default) => _rewraps.FlushAsync(ct);

    /// <summary>
    /// After a login: re-wraps the account's delivered messages under their folders' keys in the
    /// background (<see cref="BackgroundRewrap"/>), so the first reads find them symmetric.
    /// </summary>
    public void RewrapAfterLogin(IAccountSession session)
    {
        if (session is AccountSession unlocked)
        {
            var worker = LazyInitializer.EnsureInitialized(ref _afterLogin, () => new Lazy<BackgroundRewrap>(() => new BackgroundRewrap(store, this, logger)));
            worker.Value.Add(unlocked);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_afterLogin is { IsValueCreated: true } worker)
        {
            await worker.Value.DisposeAsync();
        }

        await _rewraps.DisposeAsync();
    }

    /// <summary>Above this many cache misses, metadata is read for the whole UID span in one query instead of message by message.</summary>
    private const int BulkReadThreshold = 32;

    /// <summary>
    /// The metadata of messages the caller has already listed (one mailbox), from the in-memory cache
    /// where possible: a repeated SEARCH or ENVELOPE fetch decrypts nothing. Null marks a message that
    /// failed authentication or has no metadata.
    /// </summary>
    public async Task<MetadataView?[]> MetadataForAsync(IAccountSession session, long mailboxId, IReadOnlyList<MessageRecord> records, CancellationToken ct = default)
    {
        var result = new MetadataView?[records.Count];
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
            await ReadInSlicesAsync((AccountSession)session, mailboxId, records, misses, result, ct);
        }
        else
        {
            var s = (AccountSession)session;
            var rewrap = new System.Collections.Concurrent.ConcurrentBag<(uint, byte[], byte[])>();
            using var keys = await KeysAsync(s, mailboxId, misses.Select(i => records[i]), ct);
            foreach (var i in misses)
            {
                var sealedMetadata = await store.GetBlobMetadataAsync(records[i].BlobId, ct);
                result[i] = OpenMetadata(keys, records[i], sealedMetadata, Rewrapping(s.AccountId) ? null : rewrap);
            }

            _rewraps.Add(mailboxId, [.. rewrap]);
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
        using var keys = await KeysAsync(s, message.MailboxId, [message], ct);
        var (contentKey, messageId, stale) = Unwrap(keys, message);
        var (bodyKey, metadataKey) = SealedMessageCodec.DeriveKeys(contentKey);
        if (keys.Rewrap(message, messageId, contentKey, stale) is { } rewrapped)
        {
            _rewraps.Add(message.MailboxId, [(message.Uid, message.WrappedKey!, rewrapped)]);
        }

        CryptographicOperations.ZeroMemory(contentKey);
        return new OpenedMessage(store, message, messageId, bodyKey, metadataKey, () => VaultLog.MessageTampered(logger, s.AccountId, message.MailboxId, message.Uid));
    }

    /// <summary>
    /// The metadata of every message in a UID range, read from the store and decrypted every time (neither
    /// from the metadata cache nor into it: bench vault times exactly this); null marks a message that failed
    /// authentication or has no metadata.
    /// </summary>
    public async Task<IReadOnlyList<(MessageRecord Message, MetadataView? Metadata)>> ReadMetadataAsync(IAccountSession session, long mailboxId, UidRange range, CancellationToken ct = default)
    {
        var records = await store.ListMessagesAsync(mailboxId, range, ct);
        var views = new MetadataView?[records.Count];
        var wrapped = Enumerable.Range(0, records.Count).Where(i => records[i].WrappedKey is not null).ToList();
        if (wrapped.Count > 0)
        {
            await ReadInSlicesAsync((AccountSession)session, mailboxId, records, wrapped, views, ct);
        }

        return records.Select((record, i) => (record, views[i])).ToList();
    }

    /// <summary>
    /// Many messages' metadata (<paramref name="misses"/>, indexes into <paramref name="records"/>): the
    /// sealed metadata of their UID span in one store read per slice, a slice per core once there are
    /// thousands, each decrypted on its own core as soon as its read returns. Only the metadata is read: the
    /// caller's rows carry the wrapped keys.
    /// </summary>
    private async Task ReadInSlicesAsync(AccountSession session, long mailboxId, IReadOnlyList<MessageRecord> records, List<int> misses, MetadataView?[] result, CancellationToken ct)
    {
        var rewrap = Rewrapping(session.AccountId) ? null : new System.Collections.Concurrent.ConcurrentBag<(uint, byte[], byte[])>();
        var count = misses.Count >= 2000 ? Environment.ProcessorCount : 1;
        using var large = _foreground.Begin();
        await Task.WhenAll(Enumerable.Range(0, count).Select(n => Task.Run(async () =>
        {
            var part = misses.GetRange(misses.Count * n / count, (misses.Count * (n + 1) / count) - (misses.Count * n / count));
            var (first, last) = (part.Min(i => records[i].Uid), part.Max(i => records[i].Uid));
            var rows = await store.ListSealedMetadataAsync(mailboxId, new UidRange(first, last), ct);
            using var keys = await KeysAsync(session, mailboxId, part.Select(i => records[i]), ct); // one per slice, not one per message
            OpenSlice(keys, records, part, rows, result, rewrap);
        }, ct)));

        if (rewrap is not null)
        {
            _rewraps.Add(mailboxId, [.. rewrap]);
        }
    }

    /// <summary>
    /// Decrypts one slice's metadata. Compiled optimised at once: it runs tens of thousands
    /// of times in a loop the first time a mailbox is searched, usually right after the server started,
    /// where tiered compilation would run it unoptimised first.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void OpenSlice(WrapKeys keys, IReadOnlyList<MessageRecord> records, List<int> part, IReadOnlyList<(uint Uid, byte[] Metadata)> rows, MetadataView?[] result,
        System.Collections.Concurrent.ConcurrentBag<(uint, byte[], byte[])>? rewrap)
    {
        // The store lists the span in UID order; the caller's rows usually come in that order too, so the
        // row after the last one found is tried first, and a binary search finds any other.
        var next = 0;
        foreach (var i in part)
        {
            var uid = records[i].Uid;
            var row = next < rows.Count && rows[next].Uid == uid ? next : FindRow(rows, uid);
            next = row + 1;
            result[i] = OpenMetadata(keys, records[i], row >= 0 ? rows[row].Metadata : null, rewrap);
        }
    }

    /// <summary>The index of <paramref name="uid"/> in rows sorted by UID, or -1.</summary>
    private static int FindRow(IReadOnlyList<(uint Uid, byte[] Metadata)> rows, uint uid)
    {
        var (low, high) = (0, rows.Count - 1);
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            if (rows[middle].Uid == uid)
            {
                return middle;
            }

            (low, high) = rows[middle].Uid < uid ? (middle + 1, high) : (low, middle - 1);
        }

        return -1;
    }

    /// <summary>True while the account's background re-wrap is queued or running: a read then leaves re-wrapping to it.</summary>
    private bool Rewrapping(long accountId) => _afterLogin is { IsValueCreated: true } worker && worker.Value.Covers(accountId);

    private MetadataView? OpenMetadata(WrapKeys keys, MessageRecord message, byte[]? sealedMetadata, System.Collections.Concurrent.ConcurrentBag<(uint, byte[], byte[])>? rewrap)
    {
        try
        {
            if (message.WrappedKey is null)
            {
                throw new SealpostException(ErrorKind.Forbidden, "the message has no key for this account");
            }

            var messageId = ContentKeyWrap.Describe(message.WrappedKey).MessageId;
            var contentKey = keys.Open(message.WrappedKey, out var stale);
            if (rewrap is not null && keys.Rewrap(message, messageId, contentKey, stale) is { } rewrapped)
            {
                rewrap.Add((message.Uid, message.WrappedKey, rewrapped));
            }

            var metadataKey = SealedMessageCodec.DeriveMetadataKey(contentKey);
            CryptographicOperations.ZeroMemory(contentKey);
            try
            {
                if (sealedMetadata is null)
                {
                    return null;
                }

                var (start, length) = SealedMessageCodec.OpenMetadataInPlace(metadataKey, messageId, sealedMetadata); // the store's copy, read for this alone
                return new MetadataView(sealedMetadata, start, length);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(metadataKey);
            }
        }
        catch (Exception ex) when (ex is CryptographicException or SealpostException or System.Text.Json.JsonException)
        {
            VaultLog.MessageTampered(logger, keys.Session.AccountId, message.MailboxId, message.Uid);
            return null;
        }
    }

    private (byte[] ContentKey, byte[] MessageId, bool Stale) Unwrap(WrapKeys keys, MessageRecord message)
    {
        if (message.WrappedKey is null)
        {
            throw new SealpostException(ErrorKind.Forbidden, "the message has no key for this account");
        }

        try
        {
            var (_, _, messageId) = ContentKeyWrap.Describe(message.WrappedKey);
            return (keys.Open(message.WrappedKey, out var stale), messageId, stale);
        }
        catch (CryptographicException ex)
        {
            VaultLog.MessageTampered(logger, keys.Session.AccountId, message.MailboxId, message.Uid);
            throw new SealpostException(ErrorKind.Forbidden, "the message cannot be opened with this account's keys", ex);
        }
    }

    /// <summary>
    /// Re-wraps the content keys of rows just copied or moved into <paramref name="mailboxId"/> under its
    /// folder key (they still name their old folder's key, which works only while that folder exists).
    /// </summary>
    public async Task RefileAsync(IAccountSession session, long mailboxId, IReadOnlyList<uint> uids, CancellationToken ct = default)
    {
        if (uids.Count == 0)
        {
            return;
        }

        var s = (AccountSession)session;
        var wanted = uids.ToHashSet();
        var rows = (await store.ListMessagesAsync(mailboxId, new UidRange(uids.Min(), uids.Max()), ct)).Where(m => wanted.Contains(m.Uid) && m.WrappedKey is not null).ToList();
        using var keys = await KeysAsync(s, mailboxId, rows, ct);
        var rewrap = new List<(uint, byte[])>();
        foreach (var message in rows)
        {
            try
            {
                var messageId = ContentKeyWrap.Describe(message.WrappedKey).MessageId;
                var contentKey = keys.Open(message.WrappedKey!, out var stale);
                if (keys.Rewrap(message, messageId, contentKey, stale) is { } rewrapped)
                {
                    rewrap.Add((message.Uid, rewrapped));
                }

                CryptographicOperations.ZeroMemory(contentKey);
            }
            catch (CryptographicException)
            {
                VaultLog.MessageTampered(logger, s.AccountId, mailboxId, message.Uid);
            }
        }

        if (rewrap.Count > 0)
        {
            await store.UpdateWrappedKeysAsync(mailboxId, rewrap, ct);
        }
    }

    /// <summary>
    /// The keys a batch of rows of <paramref name="mailboxId"/> needs: that folder's key (made first for a
    /// folder sealed before folder keys), and the key of every other folder a row's wrap still names.
    /// </summary>
    private async Task<WrapKeys> KeysAsync(AccountSession session, long mailboxId, IEnumerable<MessageRecord> rows, CancellationToken ct)
    {
        var folderKeys = new Dictionary<long, byte[]>();
        if (session.KnownFolderKey(mailboxId) is { } known)
        {
            folderKeys[mailboxId] = known;
        }
        else if (await store.GetMailboxAsync(mailboxId, ct) is { } home && home.AccountId == session.AccountId
                 && (session.FolderKey(home.Id, home.SealedName) ?? await GiveFolderKeyAsync(session, home, ct)) is { } key)
        {
            folderKeys[home.Id] = key;
        }

        foreach (var other in rows.Select(r => r.WrappedKey is null ? null : ContentKeyWrap.FolderOf(r.WrappedKey)).OfType<long>().Distinct().Where(id => !folderKeys.ContainsKey(id)))
        {
            if (session.KnownFolderKey(other) is { } cached)
            {
                folderKeys[other] = cached;
            }
            else if (await store.GetMailboxAsync(other, ct) is { } mailbox && mailbox.AccountId == session.AccountId && session.FolderKey(mailbox.Id, mailbox.SealedName) is { } key)
            {
                folderKeys[other] = key;
            }
        }

        return new WrapKeys(session, mailboxId, folderKeys, session.KnownFormerFolderKeys(mailboxId));
    }

    /// <summary>
    /// A folder sealed before folder keys gets one, derived from the current account key and the mailbox
    /// id (so two sessions doing this at once write the same key), then wrapped in its sealed name like any other.
    /// </summary>
    private async Task<byte[]?> GiveFolderKeyAsync(AccountSession session, Mailbox mailbox, CancellationToken ct)
    {
        if (session.Names.Unseal(session.AccountId, mailbox.SealedName) is not { } name)
        {
            return null; // sealed under a key this session does not hold (a reset): left alone
        }

        var info = new byte[18];
        "folder-key"u8.CopyTo(info);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(info.AsSpan(10), mailbox.Id);
        var folderKey = HKDF.Expand(HashAlgorithmName.SHA256, session.Current.ContentWrapKey, 32, info);
        var sealedName = SealedNameProtector.SealFolderWith(session.Current, session.AccountId, name, folderKey);
        await store.RekeyMailboxAsync(mailbox.Id, mailbox.NameKey, sealedName, [], ct); // not a rename: clients hear nothing
        CryptographicOperations.ZeroMemory(folderKey);
        return session.FolderKey(mailbox.Id, sealedName);
    }

    /// <summary>The keys one batch opens wraps with: the account's (kinds 1 and 2) and the folders' (kind 3).</summary>
    private sealed class WrapKeys(AccountSession session, long mailboxId, Dictionary<long, byte[]> folderKeys, byte[][] formerKeys) : IDisposable
    {
        private readonly AesGcm _current = new(session.Current.ContentWrapKey, 16);
        private readonly Dictionary<long, AesGcm> _folders = folderKeys.ToDictionary(k => k.Key, k => new AesGcm(k.Value, 16)); // keyed once per batch
        private readonly Dictionary<byte[], AesGcm> _batches = ContentKeyWrap.BatchCiphers();

        public AccountSession Session => session;

        /// <summary>The content key; <paramref name="stale"/> when it came from under a former key of this folder (so it moves under the current one).</summary>
        public byte[] Open(byte[] wrapped, out bool stale)
        {
            stale = false;
            if (ContentKeyWrap.FolderOf(wrapped) is not { } folder)
            {
                return ContentKeyWrap.Unwrap(session, wrapped, _current, _batches);
            }

            var cipher = _folders.TryGetValue(folder, out var found) ? found : throw new CryptographicException($"no key for folder {folder}");
            try
            {
                return ContentKeyWrap.UnwrapFolder(cipher, session.AccountId, wrapped);
            }
            catch (CryptographicException) when (folder == mailboxId && formerKeys.Length > 0)
            {
                foreach (var former in formerKeys)
                {
                    try
                    {
                        var contentKey = ContentKeyWrap.UnwrapFolder(former, session.AccountId, wrapped);
                        stale = true;
                        return contentKey;
                    }
                    catch (CryptographicException)
                    {
                        // the next older key
                    }
                }

                throw;
            }
        }

        /// <summary>The wrap to store instead, if the row's is not yet under its own folder's current key; null if it is (or that key is missing).</summary>
        public byte[]? Rewrap(MessageRecord message, byte[] messageId, byte[] contentKey, bool stale) =>
            message.MailboxId == mailboxId && (stale || ContentKeyWrap.FolderOf(message.WrappedKey!) != mailboxId) && folderKeys.TryGetValue(mailboxId, out var key)
                ? ContentKeyWrap.WrapFolder(key, session.AccountId, mailboxId, messageId, contentKey)
                : null;

        public void Dispose()
        {
            _current.Dispose();
            foreach (var cipher in _folders.Values.Concat(_batches.Values))
            {
                cipher.Dispose();
            }
        }
    }
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
