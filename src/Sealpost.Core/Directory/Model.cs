using Sealpost.Core.Addressing;

namespace Sealpost.Core.Directory;

/// <summary>A department: owns mail domains and, through them, accounts.</summary>
public sealed record Tenant(long Id, string Name, string DisplayName, DateTimeOffset CreatedAt);

/// <summary>A mail domain owned by one tenant.</summary>
public sealed record MailDomain(long Id, long TenantId, DomainName Name, DateTimeOffset CreatedAt);

public enum AccountState
{
    /// <summary>Can log in and receives mail.</summary>
    Active = 0,
    /// <summary>Cannot log in; mail is still accepted and kept.</summary>
    Suspended = 1,
    /// <summary>Gone: cannot log in, mail to it is refused; the address stays reserved.</summary>
    Deleted = 2,
}

/// <summary>Roles of ARCHITECTURE §4. An account may hold several.</summary>
[Flags]
public enum AccountRoles
{
    None = 0,
    User = 1,
    DomainAdmin = 2,
    PlatformAdmin = 4,
    Operator = 8,
    SecurityOfficer = 16,
    Auditor = 32,
}

public sealed record Account(
    long Id,
    long DomainId,
    MailAddress Address,
    string DisplayName,
    AccountState State,
    long QuotaBytes,
    AccountRoles Roles,
    int CredentialVersion,
    DateTimeOffset CreatedAt)
{
    /// <summary>0 means no quota.</summary>
    public bool HasQuota => QuotaBytes > 0;
}

/// <summary>What an address in the directory resolves to. One namespace for all kinds.</summary>
public enum AddressKind
{
    Account = 0,
    Alias = 1,
    Group = 2,
}

/// <summary>A row of the shared address namespace.</summary>
public sealed record AddressEntry(MailAddress Address, AddressKind Kind, long? AccountId, long? GroupId, MailAddress? AliasTarget);

/// <summary>A distribution group: expanded to its members at delivery.</summary>
public sealed record DistributionGroup(long Id, long DomainId, MailAddress Address, string DisplayName);

public enum CredentialKind
{
    Password = 0,
    AppPassword = 1,
}

/// <summary>
/// A way to log in. <see cref="Verifier"/> is opaque to the store (an Argon2id PHC string for
/// passwords today; key wraps join it with sealed storage).
/// </summary>
public sealed record Credential(long Id, long AccountId, CredentialKind Kind, string Label, string Verifier, DateTimeOffset CreatedAt);

public sealed record NewAccount(long DomainId, MailAddress Address, string DisplayName, long QuotaBytes, AccountRoles Roles);
