using Sealpost.Domain;
using Sealpost.Domain.Administration;
using Sealpost.Domain.Queue;

namespace Sealpost.Web;

/// <summary>The domain services the API calls, and the few host facts it reports (its host name for the DNS records a domain needs). Nothing here reaches a store.</summary>
public sealed record ApiContext(
    DirectoryService Directory,
    AdminAccessService Access,
    AuditService Audit,
    QueueService Queue,
    DkimService Dkim,
    KeyCustodyService KeyCustody,
    AccessGrantService AccessGrants,
    ConfigurationService Configuration,
    string Version,
    Func<CancellationToken, Task<(int Status, object Report)>> Health,
    int MaxRequestBodyBytes,
    int MaxPageSize,
    long DefaultQuotaBytes,
    string Hostname = "localhost",
    Sealpost.Core.Configuration.SealpostOptions? Options = null,
    Func<string?, System.Security.Cryptography.X509Certificates.X509Certificate2>? ServerCertificate = null,
    Func<string>? Metrics = null,
    BackupService? Backups = null);
