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
    // Keys whose directory signature was already checked (an Ed25519 verification per delivery otherwise).
    // The key itself is read every time, so a rotation or reset is followed at once.
    private readonly Core.Caching.TtlCache<(long Account, int Version), (byte[] PublicKey, byte[] Signature)> _verified = new(TimeSpan.FromHours(1), 50_000);

    /// <param name="keepLineEnds">
    /// Store the octets exactly as given: binary content (an IMAP APPEND sent as literal8, RFC 3516) whose
    /// bare CR and LF are data. Otherwise a bare LF becomes CRLF, the line end IMAP serves.
    /// </param>
    public async Task<IReadOnlyList<AppendResult>> DeliverAsync(ReadOnlyMemory<byte> message, IReadOnlyList<DeliveryTarget> targets, DateTimeOffset internalDate, CancellationToken ct = default, bool keepLineEnds = false)
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

        message = keepLineEnds ? message : LineEndings.ToCrlf(message); // what IMAP serves, so sizes and offsets are the clients'
        var metadata = MetadataCodec.Serialize(analyzer.Analyze(message));
        var recipients = targets.Select(t => publicKeys[t.AccountId]).Select(k => new SealRecipient(k.AccountId, k.Version, k.PublicKey)).ToList();
        var sealedMessage = SealedMessageCodec.Seal(message.Span, metadata, recipients);
        CryptographicOperations.ZeroMemory(metadata);
        var rows = targets.Select((t, i) => new NewMessage(t.MailboxId, t.Flags, t.KeywordIds ?? [], internalDate, sealedMessage.WrappedKeys[i])).ToList();
        return await store.Mail.DeliverAsync(NewBlob.FromBytes(sealedMessage.Body, sealedMessage.Metadata, message.Length), rows, ct);
    }

    private async Task<Core.Directory.AccountKey> CurrentKeyAsync(long accountId, CancellationToken ct)
    {
        var key = (await store.Directory.ListAccountKeysAsync(accountId, ct)).OrderByDescending(k => k.Version).FirstOrDefault()
            ?? throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"account {accountId} has no key");
        if (_verified.TryGet((accountId, key.Version), out var verified)
            && verified.PublicKey.AsSpan().SequenceEqual(key.PublicKey) && verified.Signature.AsSpan().SequenceEqual(key.Signature))
        {
            return key;
        }

        if (!keystore.VerifyAccountKey(accountId, key.Version, key.PublicKey, key.Signature))
        {
            VaultLog.PublicKeySignatureMismatch(logger, accountId, key.Version);
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "a recipient key failed its integrity check; delivery deferred");
        }

        _verified.Set((accountId, key.Version), (key.PublicKey, key.Signature));
        return key;
    }
}
