using System.Buffers.Binary;
using System.Security.Cryptography;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// A message's content key as one recipient's row holds it:
/// <code>
/// 1 | kind(1) | key version(4) | message id(16) | payload
/// kind 1 (HPKE, at delivery): enc(32) | ciphertext(32+16)
/// kind 2 (re-wrapped by a session, before folder keys): nonce(12) | ciphertext(32+16)
/// kind 3 (re-wrapped under a folder key; key version 0): mailbox id(8) | nonce(12) | ciphertext(32+16)
/// aad = "sealpost/content-key/v1" | kind | account id(8) | key version(4) | message id(16) [| mailbox id(8), kind 3]
/// </code>
/// A kind-3 wrap names the folder whose key it is under; a copied or moved row keeps working while that
/// folder exists, and is re-wrapped under its new folder's key.
/// The message id in the associated data ties the row to one blob: pointing the row at another blob
/// (whose header carries another id) makes the open fail.
/// </summary>
internal static class ContentKeyWrap
{
    public const byte KindHpke = 1;
    public const byte KindSymmetric = 2;
    public const byte KindFolder = 3;
    public const byte KindBatch = 4;
    public const int BatchIdLength = 16;
    private const int SealedBatchKeyLength = Hpke.EncLength + 32 + Hpke.TagLength;
    private const int HeaderLength = 22;
    private static readonly byte[] Info = "sealpost/content-key/v1"u8.ToArray();
    private static readonly byte[] BatchInfo = "sealpost/delivery-batch-key/v1"u8.ToArray();
    private static readonly Hpke Hpke = new();

    public static byte[] WrapHpke(long accountId, int keyVersion, byte[] publicKey, byte[] messageId, byte[] contentKey)
    {
        var header = Header(KindHpke, keyVersion, messageId);
        var (enc, ct) = Hpke.Seal(publicKey, Info, Aad(header, accountId), contentKey);
        return [.. header, .. enc, .. ct];
    }

    /// <summary>A delivery batch key sealed to the account's key version (HPKE enc || ciphertext), bound to the account, version and batch id.</summary>
    public static byte[] SealBatchKey(long accountId, int keyVersion, byte[] publicKey, byte[] batchId, byte[] batchKey)
    {
        var (enc, ct) = Hpke.Seal(publicKey, BatchInfo, BatchAad(accountId, keyVersion, batchId), batchKey);
        return [.. enc, .. ct];
    }

    /// <summary>
    /// Kind 4: header || batch id || the sealed batch key || AES-GCM of the content key under the batch key.
    /// The sealed batch key travels in every wrap of its batch, so a wrap opens on its own, with no other row.
    /// </summary>
    internal static byte[] WrapBatch(DeliveryBatch batch, byte[] batchKey, byte[] messageId, byte[] contentKey)
    {
        var header = Header(KindBatch, batch.KeyVersion, messageId);
        return [.. header, .. batch.Id, .. batch.Sealed, .. Aead.Seal(batchKey, contentKey, [.. Aad(header, batch.AccountId), .. batch.Id])];
    }

    private static byte[] BatchAad(long accountId, int keyVersion, ReadOnlySpan<byte> batchId)
    {
        var aad = new byte[8 + 4 + BatchIdLength];
        BinaryPrimitives.WriteInt64BigEndian(aad, accountId);
        BinaryPrimitives.WriteInt32BigEndian(aad.AsSpan(8), keyVersion);
        batchId.CopyTo(aad.AsSpan(12));
        return aad;
    }

    public static byte[] WrapSymmetric(AccountKeyMaterial key, long accountId, byte[] messageId, byte[] contentKey)
    {
        var header = Header(KindSymmetric, key.Version, messageId);
        return [.. header, .. Aead.Seal(key.ContentWrapKey, contentKey, Aad(header, accountId))];
    }

    public static byte[] WrapFolder(byte[] folderKey, long accountId, long mailboxId, byte[] messageId, byte[] contentKey)
    {
        var header = Header(KindFolder, 0, messageId);
        var folder = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(folder, mailboxId);
        return [.. header, .. folder, .. Aead.Seal(folderKey, contentKey, [.. Aad(header, accountId), .. folder])];
    }

    /// <summary>Opens a kind-3 wrap with the key of the folder it names (<see cref="FolderOf"/>).</summary>
    public static byte[] UnwrapFolder(byte[] folderKey, long accountId, ReadOnlySpan<byte> wrapped)
    {
        if (Describe(wrapped).Kind != KindFolder || wrapped.Length < HeaderLength + 8)
        {
            throw new CryptographicException("not a folder-key wrap");
        }

        return Aead.Open(folderKey, wrapped[(HeaderLength + 8)..], [.. Aad(wrapped[..HeaderLength], accountId), .. wrapped.Slice(HeaderLength, 8)]);
    }

    /// <summary>The same with an AES-GCM already keyed with the folder key (one per folder for a whole listing): no allocation but the result.</summary>
    public static byte[] UnwrapFolder(AesGcm folderCipher, long accountId, ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length != HeaderLength + 8 + 12 + 32 + 16 || wrapped[0] != 1 || wrapped[1] != KindFolder)
        {
            throw new CryptographicException("not a folder-key wrap");
        }

        Span<byte> aad = stackalloc byte[Info.Length + 1 + 8 + 4 + 16 + 8];
        Info.CopyTo(aad);
        aad[Info.Length] = KindFolder;
        BinaryPrimitives.WriteInt64BigEndian(aad[(Info.Length + 1)..], accountId);
        wrapped.Slice(2, 20).CopyTo(aad[(Info.Length + 9)..]);
        wrapped.Slice(HeaderLength, 8).CopyTo(aad[(Info.Length + 29)..]);
        var body = wrapped[(HeaderLength + 8)..];
        var output = new byte[32];
        Aead.OpenWith(folderCipher, body, output, aad);
        return output;
    }

    /// <summary>The mailbox whose folder key a kind-3 wrap is under; null for the other kinds.</summary>
    public static long? FolderOf(ReadOnlySpan<byte> wrapped) =>
        wrapped.Length >= HeaderLength + 8 && wrapped[1] == KindFolder ? BinaryPrimitives.ReadInt64BigEndian(wrapped.Slice(HeaderLength, 8)) : null;

    public static (byte Kind, int KeyVersion, byte[] MessageId) Describe(ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length < HeaderLength || wrapped[0] != 1 || wrapped[1] is not (KindHpke or KindSymmetric or KindFolder or KindBatch))
        {
            throw new CryptographicException("malformed content key wrap");
        }

        return (wrapped[1], BinaryPrimitives.ReadInt32BigEndian(wrapped[2..]), wrapped[6..22].ToArray());
    }

    /// <summary>Opens a wrap with the session's key of the right version; throws if it has none or the wrap was altered.</summary>
    /// <param name="currentCipher">Optional AES-GCM over the session's current content-wrap key, reused across many unwraps.</param>
    /// <param name="batchCiphers">
    /// Optional AES-GCMs over delivery batch keys, keyed by the session's own copy of each key (reference equality, see
    /// <see cref="BatchCiphers"/>), filled and reused across many unwraps; the caller disposes them.
    /// </param>
    public static byte[] Unwrap(AccountSession session, ReadOnlySpan<byte> wrapped, AesGcm? currentCipher = null, Dictionary<byte[], AesGcm>? batchCiphers = null)
    {
        var (kind, version, _) = Describe(wrapped);
        if (kind == KindFolder)
        {
            throw new CryptographicException("a folder-key wrap opens with its folder's key");
        }

        var key = session.Key(version) ?? throw new CryptographicException($"this session does not hold key version {version}");
        var header = wrapped[..HeaderLength];
        var aad = Aad(header, session.AccountId);
        if (kind == KindHpke)
        {
            return Hpke.Open(key.Recipient, wrapped.Slice(HeaderLength, Hpke.EncLength), Info, aad, wrapped[(HeaderLength + Hpke.EncLength)..]);
        }

        if (kind == KindBatch)
        {
            if (wrapped.Length < HeaderLength + BatchIdLength + SealedBatchKeyLength + Aead.Overhead)
            {
                throw new CryptographicException("batch wrap too short");
            }

            var batchId = wrapped.Slice(HeaderLength, BatchIdLength);
            var sealedKey = wrapped.Slice(HeaderLength + BatchIdLength, SealedBatchKeyLength);
            var accountId = session.AccountId;
            var batchKey = key.BatchKey(batchId, sealedKey, (id, sealedBytes) =>
                Hpke.Open(key.Recipient, sealedBytes.AsSpan(0, Hpke.EncLength), BatchInfo, BatchAad(accountId, version, id), sealedBytes.AsSpan(Hpke.EncLength)), out var kept);
            try
            {
                var sealedContentKey = wrapped[(HeaderLength + BatchIdLength + SealedBatchKeyLength)..];
                if (batchCiphers is null || !kept || sealedContentKey.Length != 32 + Aead.Overhead)
                {
                    return Aead.Open(batchKey, sealedContentKey, [.. aad, .. batchId]);
                }

                // A mailbox's messages come in a few batches: one keyed AES-GCM per batch key the session holds, not
                // one per message. Keyed by that key's array, so a key the session forgot and opened again gets its own.
                if (!batchCiphers.TryGetValue(batchKey, out var cipher))
                {
                    batchCiphers[batchKey] = cipher = new AesGcm(batchKey, 16);
                }

                Span<byte> batchAad = stackalloc byte[aad.Length + BatchIdLength];
                aad.CopyTo(batchAad);
                batchId.CopyTo(batchAad[aad.Length..]);
                var contentKey = new byte[32];
                Aead.OpenWith(cipher, sealedContentKey, contentKey, batchAad);
                return contentKey;
            }
            finally
            {
                if (!kept)
                {
                    CryptographicOperations.ZeroMemory(batchKey);
                }
            }
        }

        if (currentCipher is null || version != session.CurrentKeyVersion)
        {
            return Aead.Open(key.ContentWrapKey, wrapped[HeaderLength..], aad);
        }

        var body = wrapped[HeaderLength..];
        var output = new byte[Math.Max(0, body.Length - Aead.Overhead)];
        Aead.OpenWith(currentCipher, body, output, aad); // a body shorter than the overhead is refused there
        return output;
    }

    /// <summary>An empty cache of batch-key ciphers for <see cref="Unwrap"/>.</summary>
    public static Dictionary<byte[], AesGcm> BatchCiphers() => new(ReferenceEqualityComparer.Instance);

    private static byte[] Header(byte kind, int keyVersion, byte[] messageId)
    {
        var header = new byte[HeaderLength];
        header[0] = 1;
        header[1] = kind;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(2), keyVersion);
        messageId.CopyTo(header, 6);
        return header;
    }

    private static byte[] Aad(ReadOnlySpan<byte> header, long accountId)
    {
        var aad = new byte[Info.Length + 1 + 8 + 4 + 16];
        Info.CopyTo(aad, 0);
        aad[Info.Length] = header[1];
        BinaryPrimitives.WriteInt64BigEndian(aad.AsSpan(Info.Length + 1), accountId);
        header.Slice(2, 20).CopyTo(aad.AsSpan(Info.Length + 9));
        return aad;
    }
}
