using Microsoft.Extensions.Logging;
using Sealpost.Core.Logging;

namespace Sealpost.Smtp;

/// <summary>SMTP events, ids 4000-4099. Addresses are keyed hashes; never a password, subject or content.</summary>
internal static partial class SmtpLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Login by {User} from {Remote}: {Succeeded}")]
    public static partial void LoginAttempt(ILogger logger, RedactedValue user, bool succeeded, string remote);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Relay refused from {Remote} to {Recipient}")]
    public static partial void RelayRefused(ILogger logger, string remote, RedactedValue recipient);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Account {AccountId} tried to send as {Sender}")]
    public static partial void SenderRefused(ILogger logger, long accountId, RedactedValue sender);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Message {Id} stored for {Recipients} recipient(s), {Size} octets")]
    public static partial void Delivered(ILogger logger, string id, int recipients, int size);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Message {Id} not stored: {Reason}")]
    public static partial void DeliveryFailed(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Login by {User} from {Remote} refused unchecked: {Reason}")]
    public static partial void LoginThrottled(ILogger logger, RedactedValue user, string remote, string reason);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Connection from {Remote} refused: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Message {Id} refused by the DMARC policy of {FromDomain}")]
    public static partial void DmarcRejected(ILogger logger, string id, string fromDomain);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "Message refused with 452 4.3.1: message data held by all sessions reached Limits:MaxMessageMemoryBytes ({Capacity} octets)")]
    public static partial void MemoryBudgetExhausted(ILogger logger, long capacity);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Account {AccountId} submitted a message whose From/Sender header is not its own")]
    public static partial void HeaderSenderRefused(ILogger logger, long accountId);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "Message {Id} from {Remote} refused: it claims one of our domains as sender without an aligned DKIM signature")]
    public static partial void OwnDomainRefused(ILogger logger, string id, string remote);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Error, Message = "SMTP {Command} from {Remote} answered 451: {Error}")]
    public static partial void CommandFailed(ILogger logger, string command, string remote, string error);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Error, Message = "SMTP session failed: {Error}")]
    public static partial void SessionFailed(ILogger logger, string error);
}
