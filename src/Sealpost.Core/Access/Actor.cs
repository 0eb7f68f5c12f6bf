using Sealpost.Core.Directory;

namespace Sealpost.Core.Access;

/// <summary>The roles of ARCHITECTURE §4, plus the server itself. An actor may hold several.</summary>
public enum Role
{
    User,
    DomainAdmin,
    PlatformAdmin,
    Operator,
    SecurityOfficer,
    Auditor,
    /// <summary>The server acting on its own behalf: inbound delivery, start and stop, spool drains.</summary>
    System,
}

/// <summary>What kind of principal an actor is; recorded in the audit trail.</summary>
public enum ActorKind
{
    /// <summary>A person logged in with an account of the directory (mail user or administrator).</summary>
    Account,
    /// <summary>Someone at the server's own terminal (the CLI), recorded by operating-system user and host.</summary>
    LocalAdministrator,
    /// <summary>The server itself.</summary>
    System,
    /// <summary>A client that has not authenticated (an SMTP peer delivering inbound mail, a login attempt).</summary>
    Anonymous,
}

/// <summary>
/// Who is asking, carried by every domain-service call: the principal, its roles, its scope, where
/// it came from and the correlation id that ties its records together.
/// </summary>
/// <param name="Name">Printable principal: an address, <c>os-user@host</c>, <c>system</c>, or the address tried at a login.</param>
/// <param name="TenantId">For an account: the tenant (department) its domain belongs to; a domain-admin's scope.</param>
public sealed record Actor(
    ActorKind Kind,
    string Name,
    IReadOnlySet<Role> Roles,
    long? AccountId,
    long? TenantId,
    string? RemoteAddress,
    string Protocol,
    string CorrelationId)
{
    public static string NewCorrelationId() => Guid.NewGuid().ToString("N")[..16];

    /// <summary>The roles an account holds, as the matrix names them.</summary>
    public static IReadOnlySet<Role> RolesOf(AccountRoles roles)
    {
        var set = new HashSet<Role>();
        if (roles.HasFlag(AccountRoles.User)) set.Add(Role.User);
        if (roles.HasFlag(AccountRoles.DomainAdmin)) set.Add(Role.DomainAdmin);
        if (roles.HasFlag(AccountRoles.PlatformAdmin)) set.Add(Role.PlatformAdmin);
        if (roles.HasFlag(AccountRoles.Operator)) set.Add(Role.Operator);
        if (roles.HasFlag(AccountRoles.SecurityOfficer)) set.Add(Role.SecurityOfficer);
        if (roles.HasFlag(AccountRoles.Auditor)) set.Add(Role.Auditor);
        return set;
    }

    /// <summary>A logged-in account: its stored roles, scoped to its own account and tenant.</summary>
    public static Actor ForAccount(Account account, long tenantId, string protocol, string? remoteAddress, string? correlationId = null) =>
        new(ActorKind.Account, account.Address.ToString(), RolesOf(account.Roles), account.Id, tenantId, remoteAddress, protocol, correlationId ?? NewCorrelationId());

    /// <summary>A client before authentication (the name it offered, if any).</summary>
    public static Actor Anonymous(string protocol, string? remoteAddress, string? claimedName = null, string? correlationId = null) =>
        new(ActorKind.Anonymous, claimedName ?? "anonymous", new HashSet<Role>(), null, null, remoteAddress, protocol, correlationId ?? NewCorrelationId());

    /// <summary>The server itself.</summary>
    public static Actor System(string protocol = "server", string? correlationId = null) =>
        new(ActorKind.System, "system", new HashSet<Role> { Role.System }, null, null, null, protocol, correlationId ?? NewCorrelationId());

    /// <summary>
    /// Someone at the server's terminal with the data folder and its master key: a platform
    /// administrator, recorded with the operating-system user and host.
    /// </summary>
    public static Actor LocalAdministrator(string osUser, string host) =>
        new(ActorKind.LocalAdministrator, $"{osUser}@{host}", new HashSet<Role> { Role.PlatformAdmin }, null, null, "local", "cli", NewCorrelationId());

    /// <summary>Security officers at a terminal who proved their presence by giving k of their shares.</summary>
    public static Actor Officers(string osUser, string host) =>
        new(ActorKind.LocalAdministrator, $"officers at {osUser}@{host}", new HashSet<Role> { Role.SecurityOfficer }, null, null, "local", "cli-shares", NewCorrelationId());

    public bool Has(Role role) => Roles.Contains(role);

    /// <summary>The role recorded in the audit trail: the strongest one held.</summary>
    public string PrimaryRole => Roles.Count == 0 ? "none" : RoleNames.Of(Roles.OrderBy(Strength).First());

    // Every account holds `user`; the record names the role that gave the right, the strongest.
    private static int Strength(Role role) => role switch
    {
        Role.System => 0,
        Role.PlatformAdmin => 1,
        Role.SecurityOfficer => 2,
        Role.DomainAdmin => 3,
        Role.Operator => 4,
        Role.Auditor => 5,
        _ => 6,
    };
}

/// <summary>Role names as the CLI, the API and the audit trail spell them.</summary>
public static class RoleNames
{
    public static string Of(Role role) => role switch
    {
        Role.User => "user",
        Role.DomainAdmin => "domain-admin",
        Role.PlatformAdmin => "platform-admin",
        Role.Operator => "operator",
        Role.SecurityOfficer => "security-officer",
        Role.Auditor => "auditor",
        Role.System => "system",
        _ => "unknown",
    };

    /// <summary>The stored flag of a role an account can be granted (not <see cref="Role.System"/>).</summary>
    public static AccountRoles Flag(Role role) => role switch
    {
        Role.User => AccountRoles.User,
        Role.DomainAdmin => AccountRoles.DomainAdmin,
        Role.PlatformAdmin => AccountRoles.PlatformAdmin,
        Role.Operator => AccountRoles.Operator,
        Role.SecurityOfficer => AccountRoles.SecurityOfficer,
        Role.Auditor => AccountRoles.Auditor,
        _ => throw SealpostException.Invalid($"role '{Of(role)}' cannot be granted"),
    };

    public static Role Parse(string name) =>
        Enum.GetValues<Role>().Where(r => r != Role.System).FirstOrDefault(r => Of(r) == name.Trim().ToLowerInvariant(), (Role)(-1)) is var r && r != (Role)(-1)
            ? r
            : throw SealpostException.Invalid($"'{Addressing.DomainName.Printable(name)}' is not a role (user, domain-admin, platform-admin, operator, security-officer, auditor)");
}
