using Microsoft.Extensions.Logging;

namespace Sealpost.Server;

/// <summary>Host log events. Stable ids 2000-2099 (host), 2100-2199 (TLS).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Sealpost {Version} serving data folder in {Mode} mode, store {Store}")]
    public static partial void Starting(ILogger logger, string version, string mode, string store);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Listening on {Endpoint} ({Protocol})")]
    public static partial void Listening(ILogger logger, string endpoint, string protocol);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Stopping")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Stopping: listeners closed; sessions end after their current command or transaction, cut after {Seconds} s")]
    public static partial void Draining(ILogger logger, int seconds);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Development mode: demo users and a self-signed certificate; not for production")]
    public static partial void DevelopmentMode(ILogger logger);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Trust anchor {Fingerprint} (generation {Generation}): {Rule}")]
    public static partial void TrustAnchor(ILogger logger, string fingerprint, int generation, string rule);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Error, Message = "Health check failed: {Reason}")]
    public static partial void HealthFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Certificates loaded: {Count} (generation {Generation})")]
    public static partial void CertificatesReloaded(ILogger logger, int count, int generation);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Certificate reload failed, keeping the current certificates: {Reason}")]
    public static partial void CertificateReloadFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "ACME: ordering a certificate for {Count} host names ({Reason})")]
    public static partial void AcmeOrdering(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "ACME: certificate for {Count} host names issued and in use, valid until {NotAfter}")]
    public static partial void AcmeIssued(ILogger logger, int count, string notAfter);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "ACME: the certificate could not be obtained, keeping the one in use; next try in {RetrySeconds} s: {Reason}")]
    public static partial void AcmeFailed(ILogger logger, string reason, int retrySeconds);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "TLS report for {Domain} on {Day} handed to {Count} destination(s)")]
    public static partial void TlsReportSent(ILogger logger, string domain, string day, int count);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "TLS report for {Domain} not sent, kept for the next pass: {Reason}")]
    public static partial void TlsReportFailed(ILogger logger, string domain, string reason);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Accepting a connection failed: {Error}")]
    public static partial void AcceptFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Error, Message = "A session ended with an unexpected error: {Error}")]
    public static partial void SessionCrashed(ILogger logger, string error);
}
