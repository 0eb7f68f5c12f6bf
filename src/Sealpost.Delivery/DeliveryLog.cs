using Microsoft.Extensions.Logging;

namespace Sealpost.Delivery;

/// <summary>
/// Outbound delivery's log lines: queue ids, hosts, reply codes and counts. Never an address, a
/// reply's text (it often quotes the address) or anything from the message.
/// </summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "Queue {Id}: {Delivered} delivered, {Failed} failed, {Deferred} deferred via {Host} ({Tls})")]
    public static partial void Attempted(ILogger logger, long id, int delivered, int failed, int deferred, string host, string tls);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Queue {Id}: done after {Attempts} attempt(s)")]
    public static partial void Completed(ILogger logger, long id, int attempts);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Queue {Id}: next attempt in {Minutes} minute(s); last status {Status}")]
    public static partial void Deferred(ILogger logger, long id, int minutes, string status);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Queue {Id}: {Count} recipient(s) expired undelivered after {Hours} hour(s)")]
    public static partial void Expired(ILogger logger, long id, int count, int hours);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Information, Message = "Queue {Id}: {Kind} report made for the sender")]
    public static partial void ReportMade(ILogger logger, long id, string kind);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning, Message = "Queue {Id}: the report for the sender could not be delivered ({Reason}); it is not retried")]
    public static partial void ReportFailed(ILogger logger, long id, string reason);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Warning, Message = "Queue {Id}: another worker holds it now (lease expired mid-delivery); its recipients may be delivered twice")]
    public static partial void LeaseLost(ILogger logger, long id);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Error, Message = "Outbound worker pass failed: {Reason}")]
    public static partial void PassFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Debug, Message = "Closing an outbound connection failed: {Reason}")]
    public static partial void CloseFailed(ILogger logger, string reason);
}
