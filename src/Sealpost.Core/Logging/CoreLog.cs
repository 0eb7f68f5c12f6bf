using Microsoft.Extensions.Logging;

namespace Sealpost.Core.Logging;

/// <summary>
/// Log events of the domain services. Event ids are stable (operators alert on them):
/// 1000-1099 directory, 1100-1199 mail store, 1200-1299 delivery.
/// Parameters are ids, counts and <see cref="RedactedValue"/>s, never names or content.
/// </summary>
public static partial class CoreLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Tenant {TenantId} created")]
    public static partial void TenantCreated(ILogger logger, long tenantId);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Domain {Domain} added to tenant {TenantId}")]
    public static partial void DomainAdded(ILogger logger, RedactedValue domain, long tenantId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Domain {Domain} removed")]
    public static partial void DomainRemoved(ILogger logger, RedactedValue domain);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Account {AccountId} ({Address}) created")]
    public static partial void AccountCreated(ILogger logger, long accountId, RedactedValue address);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Account {AccountId} state set to {State}")]
    public static partial void AccountStateChanged(ILogger logger, long accountId, Directory.AccountState state);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Account {AccountId} credential replaced")]
    public static partial void CredentialReplaced(ILogger logger, long accountId);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Warning, Message = "Login failed for {Address}: {Reason}")]
    public static partial void LoginFailed(ILogger logger, RedactedValue address, string reason);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Warning, Message = "Security: the enrolment token of account {AccountId} was presented again after it was redeemed")]
    public static partial void EnrolmentTokenReused(ILogger logger, long accountId);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Alias {Alias} added")]
    public static partial void AliasAdded(ILogger logger, RedactedValue alias);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "Alias {Alias} removed")]
    public static partial void AliasRemoved(ILogger logger, RedactedValue alias);

    [LoggerMessage(EventId = 1030, Level = LogLevel.Information, Message = "Group {GroupId} ({Address}) created")]
    public static partial void GroupCreated(ILogger logger, long groupId, RedactedValue address);

    [LoggerMessage(EventId = 1031, Level = LogLevel.Information, Message = "Group {GroupId} membership changed: {Member} {Change}")]
    public static partial void GroupMembershipChanged(ILogger logger, long groupId, RedactedValue member, string change);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Orphan sweep removed {Rows} blob rows and {Files} files")]
    public static partial void OrphansSwept(ILogger logger, int rows, int files);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Orphan sweep failed")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "Recipient expansion of {Address} stopped: {Reason}")]
    public static partial void ExpansionStopped(ILogger logger, RedactedValue address, string reason);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Change log pruned: {Entries} entries past the retention")]
    public static partial void ChangesPruned(ILogger logger, int entries);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Login lockout of account {AccountId} lifted by an administrator")]
    public static partial void LockoutLifted(ILogger logger, long accountId);
}
