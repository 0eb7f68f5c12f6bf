using Microsoft.Extensions.Logging;
using Sealpost.Core.Logging;

namespace Sealpost.Imap;

/// <summary>IMAP events, ids 5000-5099. Addresses are keyed hashes; never a password, a command's content or a mailbox name.</summary>
internal static partial class ImapLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "IMAP login by {User} from {Remote}: {Succeeded}")]
    public static partial void LoginAttempt(ILogger logger, RedactedValue user, bool succeeded, string remote);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "IMAP logout of account {AccountId} from {Remote}")]
    public static partial void Logout(ILogger logger, long accountId, string remote);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "IMAP login by {User} from {Remote} refused unchecked: {Reason}")]
    public static partial void LoginThrottled(ILogger logger, RedactedValue user, string remote, string reason);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "IMAP connection from {Remote} refused: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "IMAP session failed: {Error}")]
    public static partial void SessionFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "IMAP session from {Remote} closed: {Reason}")]
    public static partial void SessionClosed(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Error, Message = "IMAP {Command} from {Remote} answered NO [UNAVAILABLE]: {Cause}")]
    public static partial void CommandUnavailable(ILogger logger, string command, string remote, string cause);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Command refused with NO [LIMIT]: message data held by all sessions reached Limits:MaxMessageMemoryBytes ({Capacity} octets)")]
    public static partial void LiteralMemoryExhausted(ILogger logger, long capacity);
}
