using System.Security.Cryptography;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Crypto.Vault;

/// <summary>A recipient's current public key, already checked against its directory signature.</summary>
public readonly record struct SealRecipient(long AccountId, int KeyVersion, byte[] PublicKey);

/// <summary>A message sealed once: body blob, metadata, and one wrapped content key per recipient (in recipient order).</summary>
public sealed record SealedMessage(byte[] MessageId, byte[] Body, byte[] Metadata, IReadOnlyList<byte[]> WrappedKeys);

/// <summary>
/// The sealed message format, with no storage and no parsing: what delivery writes and a session reads.
/// Body key and metadata key are derived from the per-message content key (HKDF), so one wrapped
/// key opens both and neither is ever used for two purposes.
/// </summary>
public static class SealedMessageCodec
{
    private static readonly byte[] BodyInfo = "sealpost/body/v1"u8.ToArray();
    private static readonly byte[] MetadataInfo = "sealpost/metadata/v1"u8.ToArray();

    /// <param name="batches">This node's delivery batch keys (kind-4 wraps); null: one HPKE wrap per recipient (kind 1).</param>
    public static SealedMessage Seal(ReadOnlySpan<byte> message, byte[] metadata, IReadOnlyList<SealRecipient> recipients, DeliveryBatches? batches = null)
    {
        var messageId = RandomNumberGenerator.GetBytes(16);
        var contentKey = RandomNumberGenerator.GetBytes(32);
        var (bodyKey, metadataKey) = DeriveKeys(contentKey);
        try
        {
            var wraps = new byte[recipients.Count][];
            for (var i = 0; i < recipients.Count; i++)
            {
                var r = recipients[i];
                wraps[i] = batches is null
                    ? ContentKeyWrap.WrapHpke(r.AccountId, r.KeyVersion, r.PublicKey, messageId, contentKey)
                    : batches.Wrap(r, messageId, contentKey);
            }

            return new SealedMessage(messageId, ChunkedAead.Seal(bodyKey, messageId, message), SealMetadata(metadataKey, messageId, metadata), wraps);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
            CryptographicOperations.ZeroMemory(bodyKey);
            CryptographicOperations.ZeroMemory(metadataKey);
        }
    }

    /// <summary>Opens a whole body with a session (used by benchmarks and tools; the reader streams ranges).</summary>
    public static byte[] OpenBody(AccountSession session, byte[] wrappedKey, byte[] sealedBody)
    {
        var contentKey = ContentKeyWrap.Unwrap(session, wrappedKey);
        var (bodyKey, metadataKey) = DeriveKeys(contentKey);
        CryptographicOperations.ZeroMemory(contentKey);
        CryptographicOperations.ZeroMemory(metadataKey);
        try
        {
            if (!ChunkedAead.ReadHeader(sealedBody).MessageId.AsSpan().SequenceEqual(ContentKeyWrap.Describe(wrappedKey).MessageId))
            {
                throw new CryptographicException("the blob belongs to another message");
            }

            return ChunkedAead.Open(bodyKey, sealedBody);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bodyKey);
        }
    }

    /// <summary>The symmetric re-wrap a session stores after the first open.</summary>
    public static byte[] Rewrap(AccountSession session, byte[] wrappedKey)
    {
        var (_, _, messageId) = ContentKeyWrap.Describe(wrappedKey);
        var contentKey = ContentKeyWrap.Unwrap(session, wrappedKey);
        try
        {
            return ContentKeyWrap.WrapSymmetric(session.Current, session.AccountId, messageId, contentKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    // HKDF-Expand to one hash length is one HMAC (RFC 5869 §2.3: T(1) = HMAC-Hash(PRK, info | 0x01)); the
    // one-shot HMAC skips the KDF context HKDF.Expand makes per call, a measurable share of a first SEARCH.
    private static readonly byte[] BodyExpand = [.. BodyInfo, 0x01];
    private static readonly byte[] MetadataExpand = [.. MetadataInfo, 0x01];

    internal static byte[] DeriveMetadataKey(byte[] contentKey) => HMACSHA256.HashData(contentKey, MetadataExpand);

    internal static (byte[] BodyKey, byte[] MetadataKey) DeriveKeys(byte[] contentKey) =>
        (HMACSHA256.HashData(contentKey, BodyExpand), HMACSHA256.HashData(contentKey, MetadataExpand));

    /// <summary>"SPM1" | message id(16) | nonce(12) | ciphertext | tag(16); the first 20 bytes are the associated data.</summary>
    internal static byte[] SealMetadata(byte[] key, byte[] messageId, byte[] metadata)
    {
        byte[] header = [.. "SPM1"u8, .. messageId];
        return [.. header, .. Aead.Seal(key, metadata, header)];
    }

    internal static byte[] OpenMetadata(byte[] key, byte[] messageId, byte[] sealedMetadata)
    {
        CheckMetadataHeader(messageId, sealedMetadata);
        return Aead.Open(key, sealedMetadata.AsSpan(20), sealedMetadata.AsSpan(0, 20));
    }

    /// <summary>
    /// <see cref="OpenMetadata"/> in place: the plaintext overwrites the ciphertext inside
    /// <paramref name="sealedMetadata"/>, which the caller gives up; returns where it lies.
    /// </summary>
    internal static (int Start, int Length) OpenMetadataInPlace(byte[] key, byte[] messageId, byte[] sealedMetadata)
    {
        CheckMetadataHeader(messageId, sealedMetadata);
        using var gcm = new AesGcm(key, 16);
        var start = 20 + Aead.OpenInPlace(gcm, sealedMetadata.AsSpan(20), sealedMetadata.AsSpan(0, 20));
        return (start, sealedMetadata.Length - start - 16);
    }

    private static void CheckMetadataHeader(byte[] messageId, byte[] sealedMetadata)
    {
        if (sealedMetadata.Length < 20 + Aead.Overhead || !sealedMetadata.AsSpan(0, 4).SequenceEqual("SPM1"u8) || !sealedMetadata.AsSpan(4, 16).SequenceEqual(messageId))
        {
            throw new CryptographicException("metadata does not belong to this message");
        }
    }
}
