using Microsoft.Extensions.Logging;

namespace Sealpost.Crypto.Vault;

/// <summary>Vault events, ids 3000-3099. Security events (tampering) are Critical: operators alert on them.</summary>
internal static partial class VaultLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Critical, Message = "Security: the public key of account {AccountId} (version {Version}) fails its directory signature; sealing to it refused")]
    public static partial void PublicKeySignatureMismatch(ILogger logger, long accountId, int version);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Critical, Message = "Security: the private key unwrapped for account {AccountId} (version {Version}) does not match its public key; login refused")]
    public static partial void PrivateKeyMismatch(ILogger logger, long accountId, int version);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Critical, Message = "Security: the recovery public key (version {Version}) fails its directory signature")]
    public static partial void RecoveryKeySignatureMismatch(ILogger logger, int version);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Critical, Message = "Security: a message of account {AccountId} in mailbox {MailboxId} (UID {Uid}) failed authentication; refusing to serve it")]
    public static partial void MessageTampered(ILogger logger, long accountId, long mailboxId, uint uid);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Account {AccountId}: key version {Version} created ({Reason})")]
    public static partial void KeyCreated(ILogger logger, long accountId, int version, string reason);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Account {AccountId}: {Count} content keys re-wrapped to key version {Version}")]
    public static partial void Rewrapped(ILogger logger, long accountId, int count, int version);
}
