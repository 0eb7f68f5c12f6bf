using Microsoft.Extensions.Logging;

namespace Sealpost.Crypto.Vault;

/// <summary>Vault events, ids 3000-3099. Security events (tampering) are Critical: operators alert on them.</summary>
internal static partial class VaultLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Critical, Message = "Security: key version {Version} of account {AccountId} is refused ({Reason}); nothing is sealed to it")]
    public static partial void KeyVersionRefused(ILogger logger, long accountId, int version, string reason);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Critical, Message = "Security: the private key unwrapped for account {AccountId} (version {Version}) does not match its public key; login refused")]
    public static partial void PrivateKeyMismatch(ILogger logger, long accountId, int version);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Critical, Message = "Security: recovery key version {Version} in the database is not in the officers' trust anchor; ignored")]
    public static partial void RecoveryKeyNotAnchored(ILogger logger, int version);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Critical, Message = "Security: trust anchor generation {Generation} fails its officers' signatures; the chain before it stays in force")]
    public static partial void TrustAnchorRefused(ILogger logger, int generation);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Account {AccountId}: its newest key version is not endorsed; delivery to it is deferred until two people endorse it")]
    public static partial void NoEndorsedKey(ILogger logger, long accountId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Critical, Message = "Security: a message of account {AccountId} in mailbox {MailboxId} (UID {Uid}) failed authentication; refusing to serve it")]
    public static partial void MessageTampered(ILogger logger, long accountId, long mailboxId, uint uid);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Account {AccountId}: key version {Version} created ({Reason})")]
    public static partial void KeyCreated(ILogger logger, long accountId, int version, string reason);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Account {AccountId}: {Count} content keys re-wrapped to key version {Version}")]
    public static partial void Rewrapped(ILogger logger, long accountId, int count, int version);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Deferred re-wraps of {Count} messages in mailbox {MailboxId} not written ({Kind}); they keep their old wraps and are re-wrapped on a later read")]
    public static partial void RewrapsFailed(ILogger logger, long mailboxId, int count, string kind);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Debug, Message = "Deferred re-wraps of {Count} messages in mailbox {MailboxId} dropped: the writer's queue is full; a later read finds them again")]
    public static partial void RewrapsDropped(ILogger logger, long mailboxId, int count);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Information, Message = "Account {AccountId}: {Count} content keys re-wrapped under their folders' keys in the background after login ({Seconds:F1} s)")]
    public static partial void BackgroundRewrapped(ILogger logger, long accountId, int count, double seconds);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "Account {AccountId}: the background re-wrap after login stopped ({Kind}); first reads re-wrap instead")]
    public static partial void BackgroundRewrapFailed(ILogger logger, long accountId, string kind);
}
