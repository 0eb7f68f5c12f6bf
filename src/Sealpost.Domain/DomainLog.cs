using Microsoft.Extensions.Logging;
using Sealpost.Core.Logging;

namespace Sealpost.Domain;

/// <summary>
/// Log events of the domain layer. Event ids are stable: 1300-1349 the audit trail, 1350-1399 the
/// permission matrix. Parameters are ids, counts, operation names and redacted values only.
/// </summary>
public static partial class DomainLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Critical, Message = "Audit store unavailable ({Error}): administration is refused, logins and deliveries go to the local spool")]
    public static partial void AuditStoreDown(ILogger logger, string error);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Audit store available again")]
    public static partial void AuditStoreBack(ILogger logger);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Critical, Message = "Audit spool full ({Events} events): logins and deliveries are refused until the audit store returns")]
    public static partial void AuditSpoolFull(ILogger logger, int events);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Critical, Message = "Audit spool cannot be written ({Error})")]
    public static partial void AuditSpoolFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "Audit spool drained: {Events} events reached the store, {AlreadyThere} were there from an interrupted drain")]
    public static partial void AuditSpoolDrained(ILogger logger, int events, int alreadyThere);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Error, Message = "Audit checkpoint failed ({Error})")]
    public static partial void AuditCheckpointFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 7010, Level = LogLevel.Warning, Message = "Account {AccountId} crossed its hourly sending limit: queued message {QueueId} is held until an operator releases or deletes it")]
    public static partial void SendingLimitHeld(ILogger logger, long accountId, long queueId);

    [LoggerMessage(EventId = 1350, Level = LogLevel.Warning, Message = "Refused {Operation} to {Actor} ({Role})")]
    public static partial void Refused(ILogger logger, string operation, RedactedValue actor, string role);
}
