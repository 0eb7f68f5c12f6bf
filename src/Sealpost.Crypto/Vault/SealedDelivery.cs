using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Primitives;
using Sealpost.Mime;

namespace Sealpost.Crypto.Vault;

/// <summary>One copy of a delivered message: whose, into which mailbox, with which flags.</summary>
public sealed record DeliveryTarget(long AccountId, long MailboxId, MessageFlags Flags = MessageFlags.None, IReadOnlyList<int>? KeywordIds = null);

/// <summary>
/// Seals a message once, however many local recipients it has: a random content key; the body in
/// AEAD segments (<see cref="ChunkedAead"/>) and the parsed metadata under keys derived from it;
/// the content key wrapped with HPKE to each recipient's current public key, after checking that
/// key's directory signature. The store then commits blob and rows in one transaction.
/// </summary>
public sealed class SealedDelivery(ISealpostStore store, Keystore keystore, MessageAnalyzer analyzer, ILogger<SealedDelivery> logger)
{
    private static readonly byte[] BodyInfo = "sealpost/body/v1"u8.ToArray();
    private static readonly byte[] MetadataInfo = "sealpost/metadata/v1"u8.ToArray();

    public async Task<IReadOnlyList<AppendResult>> DeliverAsync(ReadOnlyMemory<byte> message, IReadOnlyList<DeliveryTarget> targets, DateTimeOffset internalDate, CancellationToken ct = default)
    {
        if (targets.Count == 0)
        {
            throw SealpostException.Invalid("a delivery needs at least one recipient");
        }

        // Keys first: a recipient whose key fails its check stops the delivery before anything is sealed.
        var publicKeys = new Dictionary<long, Core.Directory.AccountKey>();
        foreach (var accountId in targets.Select(t => t.AccountId).Distinct())
        {
            publicKeys[accountId] = await CurrentKeyAsync(accountId, ct);
        }

        var metadata = MetadataCodec.Serialize(analyzer.Analyze(message));
        var messageId = RandomNumberGenerator.GetBytes(16);
        var contentKey = RandomNumberGenerator.GetBytes(32);
        try
        {
            var (bodyKey, metadataKey) = DeriveKeys(contentKey);
            var sealedBody = ChunkedAead.Seal(bodyKey, messageId, message.Span);
            var sealedMetadata = SealMetadata(metadataKey, messageId, metadata);
            CryptographicOperations.ZeroMemory(bodyKey);
            CryptographicOperations.ZeroMemory(metadataKey);
            CryptographicOperations.ZeroMemory(metadata);

            var rows = targets.Select(t =>
            {
                var key = publicKeys[t.AccountId];
                return new NewMessage(t.MailboxId, t.Flags, t.KeywordIds ?? [], internalDate,
                    ContentKeyWrap.WrapHpke(t.AccountId, key.Version, key.PublicKey, messageId, contentKey));
            }).ToList();
            return await store.Mail.DeliverAsync(NewBlob.FromBytes(sealedBody, sealedMetadata), rows, ct);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    private async Task<Core.Directory.AccountKey> CurrentKeyAsync(long accountId, CancellationToken ct)
    {
        var key = (await store.Directory.ListAccountKeysAsync(accountId, ct)).OrderByDescending(k => k.Version).FirstOrDefault()
            ?? throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"account {accountId} has no key");
        if (!keystore.VerifyAccountKey(accountId, key.Version, key.PublicKey, key.Signature))
        {
            VaultLog.PublicKeySignatureMismatch(logger, accountId, key.Version);
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "a recipient key failed its integrity check; delivery deferred");
        }

        return key;
    }

    internal static (byte[] BodyKey, byte[] MetadataKey) DeriveKeys(byte[] contentKey) =>
        (HKDF.Expand(HashAlgorithmName.SHA256, contentKey, 32, BodyInfo), HKDF.Expand(HashAlgorithmName.SHA256, contentKey, 32, MetadataInfo));

    /// <summary>"SPM1" | message id(16) | nonce(12) | ciphertext | tag(16); the first 20 bytes are the associated data.</summary>
    internal static byte[] SealMetadata(byte[] key, byte[] messageId, byte[] metadata)
    {
        byte[] header = [.. "SPM1"u8, .. messageId];
        return [.. header, .. Aead.Seal(key, metadata, header)];
    }

    internal static byte[] OpenMetadata(byte[] key, byte[] messageId, byte[] sealedMetadata)
    {
        if (sealedMetadata.Length < 20 + Aead.Overhead || !sealedMetadata.AsSpan(0, 4).SequenceEqual("SPM1"u8) || !sealedMetadata.AsSpan(4, 16).SequenceEqual(messageId))
        {
            throw new CryptographicException("metadata does not belong to this message");
        }

        return Aead.Open(key, sealedMetadata.AsSpan(20), sealedMetadata.AsSpan(0, 20));
    }
}
