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
/// the content key wrapped with HPKE to each recipient's newest endorsed key version (one that chains
/// to the officers' trust anchor, <see cref="KeyTrust"/>), directly or through this node's current
/// delivery batch key for the account (<see cref="DeliveryBatches"/>). The store then commits blob and rows in one
/// transaction.
/// </summary>
public sealed class SealedDelivery(ISealpostStore store, KeyTrust trust, MessageAnalyzer analyzer, ILogger<SealedDelivery> logger, DeliveryBatches? batches = null)
{
    /// <param name="keepLineEnds">
    /// Store the octets exactly as given: binary content (an IMAP APPEND sent as literal8, RFC 3516) whose
    /// bare CR and LF are data. Otherwise a bare LF becomes CRLF, the line end IMAP serves.
    /// </param>
    public Task<IReadOnlyList<AppendResult>> DeliverAsync(ReadOnlyMemory<byte> message, IReadOnlyList<DeliveryTarget> targets, DateTimeOffset internalDate, CancellationToken ct = default, bool keepLineEnds = false) =>
        DeliverCoreAsync(message, targets, internalDate, null, keepLineEnds, ct);

    /// <summary>
    /// Delivers to the key version <paramref name="session"/> holds, made in this process just now (the
    /// notice of a reset, whose new version may still wait for its endorsement): never a key read from the store.
    /// </summary>
    public Task<IReadOnlyList<AppendResult>> DeliverToSessionAsync(ReadOnlyMemory<byte> message, DeliveryTarget target, Core.Security.IAccountSession session, CancellationToken ct = default)
    {
        var current = ((AccountSession)session).Current;
        var key = new Core.Directory.AccountKey(session.AccountId, current.Version, current.PublicKey, [], DateTimeOffset.UtcNow);
        return target.AccountId == session.AccountId
            ? DeliverCoreAsync(message, [target], DateTimeOffset.UtcNow, key, false, ct)
            : throw SealpostException.Invalid("the session is another account's");
    }

    private async Task<IReadOnlyList<AppendResult>> DeliverCoreAsync(ReadOnlyMemory<byte> message, IReadOnlyList<DeliveryTarget> targets, DateTimeOffset internalDate, Core.Directory.AccountKey? known, bool keepLineEnds, CancellationToken ct)
    {
        if (targets.Count == 0)
        {
            throw SealpostException.Invalid("a delivery needs at least one recipient");
        }

        // Keys first: a recipient whose key fails its check stops the delivery before anything is sealed.
        var publicKeys = new Dictionary<long, Core.Directory.AccountKey>();
        foreach (var accountId in targets.Select(t => t.AccountId).Distinct())
        {
            publicKeys[accountId] = known is not null && known.AccountId == accountId ? known : await CurrentKeyAsync(accountId, ct);
        }

        message = keepLineEnds ? message : LineEndings.ToCrlf(message); // what IMAP serves, so sizes and offsets are the clients'
        var metadata = MetadataCodec.Serialize(analyzer.Analyze(message));
        var recipients = targets.Select(t => publicKeys[t.AccountId]).Select(k => new SealRecipient(k.AccountId, k.Version, k.PublicKey)).ToList();
        var sealedMessage = SealedMessageCodec.Seal(message.Span, metadata, recipients, batches);
        CryptographicOperations.ZeroMemory(metadata);
        var rows = targets.Select((t, i) => new NewMessage(t.MailboxId, t.Flags, t.KeywordIds ?? [], internalDate, sealedMessage.WrappedKeys[i])).ToList();
        return await store.Mail.DeliverAsync(NewBlob.FromBytes(sealedMessage.Body, sealedMessage.Metadata, message.Length), rows, ct);
    }

    // The ring is read every time, so a rotation or reset is followed at once; the trust check is cached by the ring's bytes.
    private async Task<Core.Directory.AccountKey> CurrentKeyAsync(long accountId, CancellationToken ct)
    {
        var ring = await store.Directory.ListAccountKeysAsync(accountId, ct);
        if (ring.Count == 0)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"account {accountId} has no key");
        }

        if (await trust.SealingKeyAsync(accountId, ring, ct) is not { } key)
        {
            VaultLog.NoEndorsedKey(logger, accountId);
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the recipient's key is not endorsed yet; delivery deferred");
        }

        return key;
    }
}
