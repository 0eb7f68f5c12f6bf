namespace Sealpost.Core.Access;

/// <summary>
/// Every operation a domain service offers. A service operation names exactly one of these in its
/// <see cref="RequiresAttribute"/> and checks it first; <see cref="PermissionMatrix"/> says who may.
/// </summary>
public enum Operation
{
    // Authentication: anyone may try; the outcome is what the audit trail records.
    Login,

    // The owner's own mail (never another account's: no role reads someone else's mail).
    MailRead,
    MailWrite,
    MailSubmit,
    OwnPasswordChange,
    OwnAppPasswordCreate,
    OwnKeyRotate,
    /// <summary>One's own app passwords, API tokens, sessions and recent logins: list and revoke.</summary>
    OwnCredentialsManage,
    /// <summary>Enrol one's own TOTP second factor.</summary>
    OwnSecondFactorEnrol,

    // Inbound delivery and other work the server does for itself.
    MailDeliver,
    ServerLifecycle,

    // Directory.
    TenantCreate,
    TenantList,
    DomainAdd,
    DomainRemove,
    DomainList,
    AccountCreate,
    AccountList,
    AccountSetState,
    /// <summary>Display name and quota.</summary>
    AccountUpdate,
    /// <summary>Remove an account's TOTP so its owner can enrol again (a lost phone).</summary>
    AccountSecondFactorReset,
    /// <summary>Crypto-shred a suspended or deleted account: every key wrap removed, its mail deleted.</summary>
    AccountShred,
    AccountPasswordReset,
    AliasAdd,
    AliasRemove,
    AliasList,
    GroupCreate,
    GroupMembersChange,
    GroupList,
    RoleGrant,
    RoleRevoke,
    RoleList,
    LockoutList,
    LockoutUnlock,

    // Keys.
    /// <summary>A new recovery public key version (made offline by the security officers).</summary>
    RecoveryKeyAdd,

    /// <summary>Split the master key anew among the security officers (k of the old shares present).</summary>
    UnsealSharesRotate,

    /// <summary>Approve or withdraw a node certificate that may fetch the master key from an unsealed peer.</summary>
    PeerApprove,

    /// <summary>Create or rotate a domain's DKIM signing key.</summary>
    DkimManage,

    /// <summary>Account key versions with their fingerprints and endorsement state (never a key).</summary>
    KeyVersionList,

    /// <summary>Hand in a requester's or an approver's signature over a key version (made on the signer's own machine).</summary>
    KeyVersionEndorse,

    /// <summary>Pin the officers' trust anchor or hand in its next generation (signed by the threshold of officers).</summary>
    TrustAnchorChange,

    /// <summary>Export a recovery request for the officers' offline machine (an account's lost key versions, for a restore).</summary>
    RecoveryRequest,

    /// <summary>Hand in the response the officers' offline machine made (key versions sealed to the holder's key).</summary>
    RecoveryApply,

    /// <summary>Ask that one person read another account's mailbox, read-only, for a time, with a justification.</summary>
    AccessGrantRequest,

    /// <summary>Hand in a security officer's signed approval of an access grant (two different officers, neither the requester).</summary>
    AccessGrantApprove,

    /// <summary>List access grants (who, whose mailbox, why, when, state; never a key).</summary>
    AccessGrantList,

    /// <summary>End an access grant before its time: its keys are deleted.</summary>
    AccessGrantRevoke,

    /// <summary>Read, read-only, the mailbox an active access grant of one's own names (every read audited).</summary>
    GrantedMailRead,

    // Operations.
    /// <summary>Queue metadata: envelopes, sizes, states, errors; never content.</summary>
    QueueRead,
    /// <summary>Hold, release, retry now or delete a queued message.</summary>
    QueueManage,
    /// <summary>The server's outbound workers claiming, attempting and finishing queued messages.</summary>
    QueueDeliver,
    ConfigurationRead,
    ConfigurationChange,
    /// <summary>Write a backup of the data folder (sealed as the live data is).</summary>
    BackupCreate,
    /// <summary>Keep a TLS certificate and its private key sealed in the keystore (an import, or one the ACME CA issued).</summary>
    TlsCertificateStore,

    // The audit trail.
    AuditRead,
    /// <summary>The server pushing the signed chain head to the auditors' collector.</summary>
    AuditPublish,
    /// <summary>Moving old records into an archive file behind a signed boundary (retention).</summary>
    AuditArchive,
}

/// <summary>How far a role reaches for one operation.</summary>
public enum Reach
{
    /// <summary>Not at all.</summary>
    None,
    /// <summary>Only the actor's own account.</summary>
    Own,
    /// <summary>Accounts, domains and addresses of the actor's own tenant (department).</summary>
    Tenant,
    /// <summary>Everything.</summary>
    All,
}

/// <summary>What an operation is applied to, as far as scope is concerned. Null parts are "platform-wide".</summary>
public readonly record struct Scope(long? TenantId, long? AccountId)
{
    public static readonly Scope Platform = new(null, null);

    public static Scope OfTenant(long tenantId) => new(tenantId, null);

    public static Scope OfAccount(long tenantId, long accountId) => new(tenantId, accountId);
}

/// <summary>
/// The one permission matrix (ARCHITECTURE §4): operation x role -> reach. Every domain-service
/// operation consults it through <see cref="Allows"/>; nothing else decides who may do what.
/// Operators (possibly contractor staff) get health, queue metadata and configuration, never mail,
/// credentials or keys; auditors only read.
/// </summary>
public static class PermissionMatrix
{
    private static readonly Role[] Roles = Enum.GetValues<Role>();

    private static readonly Dictionary<Operation, Dictionary<Role, Reach>> Table = Build();

    /// <summary>The whole table, for tests and documentation.</summary>
    public static IReadOnlyDictionary<Operation, Dictionary<Role, Reach>> Rows => Table;

    public static Reach ReachOf(Operation operation, Role role) =>
        Table.TryGetValue(operation, out var row) && row.TryGetValue(role, out var reach) ? reach : Reach.None;

    /// <summary>Whether <paramref name="actor"/> may apply <paramref name="operation"/> to <paramref name="target"/>.</summary>
    public static bool Allows(Actor actor, Operation operation, Scope target)
    {
        if (operation == Operation.Login)
        {
            return true;
        }

        foreach (var role in actor.Roles)
        {
            var reach = ReachOf(operation, role);
            var allowed = reach switch
            {
                Reach.All => true,
                // A platform-wide target (no tenant) is never inside one tenant's scope.
                Reach.Tenant => target.TenantId is { } t && actor.TenantId == t,
                Reach.Own => target.AccountId is { } a && actor.AccountId == a,
                _ => false,
            };
            if (allowed)
            {
                return true;
            }
        }

        return false;
    }

    private static Dictionary<Operation, Dictionary<Role, Reach>> Build()
    {
        var t = new Dictionary<Operation, Dictionary<Role, Reach>>();
        void Row(Operation op, params (Role Role, Reach Reach)[] cells)
        {
            var row = Roles.ToDictionary(r => r, _ => Reach.None);
            foreach (var (role, reach) in cells)
            {
                row[role] = reach;
            }

            t.Add(op, row);
        }

        const Role U = Role.User, DA = Role.DomainAdmin, PA = Role.PlatformAdmin, OP = Role.Operator, SO = Role.SecurityOfficer, AU = Role.Auditor, SYS = Role.System;

        Row(Operation.Login, (U, Reach.All), (DA, Reach.All), (PA, Reach.All), (OP, Reach.All), (SO, Reach.All), (AU, Reach.All), (SYS, Reach.All));

        Row(Operation.MailRead, (U, Reach.Own));
        Row(Operation.MailWrite, (U, Reach.Own));
        Row(Operation.MailSubmit, (U, Reach.Own));
        Row(Operation.OwnPasswordChange, (U, Reach.Own));
        Row(Operation.OwnAppPasswordCreate, (U, Reach.Own));
        Row(Operation.OwnKeyRotate, (U, Reach.Own));
        Row(Operation.OwnCredentialsManage, (U, Reach.Own), (DA, Reach.Own), (PA, Reach.Own), (OP, Reach.Own), (SO, Reach.Own), (AU, Reach.Own));
        Row(Operation.OwnSecondFactorEnrol, (U, Reach.Own), (DA, Reach.Own), (PA, Reach.Own), (OP, Reach.Own), (SO, Reach.Own), (AU, Reach.Own));

        // Anyone logged in may send to local recipients; the server delivers for unauthenticated peers.
        Row(Operation.MailDeliver, (SYS, Reach.All), (U, Reach.All));
        Row(Operation.ServerLifecycle, (SYS, Reach.All), (PA, Reach.All));

        Row(Operation.TenantCreate, (PA, Reach.All));
        Row(Operation.TenantList, (PA, Reach.All), (OP, Reach.All), (AU, Reach.All), (DA, Reach.Tenant));
        Row(Operation.DomainAdd, (PA, Reach.All));
        Row(Operation.DomainRemove, (PA, Reach.All));
        Row(Operation.DomainList, (PA, Reach.All), (OP, Reach.All), (AU, Reach.All), (DA, Reach.Tenant), (SYS, Reach.All)); // the server names each domain's hosts in its ACME certificate
        Row(Operation.AccountCreate, (PA, Reach.All), (DA, Reach.Tenant));
        // Operators (the contractor's staff) run the platform without its address book: no account, alias
        // or group lists; they see tenants, domains, lockouts and queue metadata.
        Row(Operation.AccountList, (PA, Reach.All), (AU, Reach.All), (DA, Reach.Tenant), (U, Reach.Own));
        Row(Operation.AccountSetState, (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.AccountPasswordReset, (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.AccountUpdate, (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.AccountSecondFactorReset, (PA, Reach.All), (DA, Reach.Tenant));
        // The server shreds deleted accounts whose retention has passed.
        Row(Operation.AccountShred, (PA, Reach.All), (DA, Reach.Tenant), (SYS, Reach.All));
        Row(Operation.AliasAdd, (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.AliasRemove, (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.AliasList, (PA, Reach.All), (AU, Reach.All), (DA, Reach.Tenant));
        Row(Operation.GroupCreate, (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.GroupMembersChange, (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.GroupList, (PA, Reach.All), (AU, Reach.All), (DA, Reach.Tenant));
        Row(Operation.RoleGrant, (PA, Reach.All));
        Row(Operation.RoleRevoke, (PA, Reach.All));
        Row(Operation.RoleList, (PA, Reach.All), (SO, Reach.All), (AU, Reach.All));
        Row(Operation.LockoutList, (PA, Reach.All), (OP, Reach.All), (SO, Reach.All), (DA, Reach.Tenant));
        Row(Operation.LockoutUnlock, (PA, Reach.All), (DA, Reach.Tenant));

        Row(Operation.RecoveryKeyAdd, (PA, Reach.All));
        Row(Operation.UnsealSharesRotate, (SO, Reach.All));
        Row(Operation.PeerApprove, (SO, Reach.All));
        Row(Operation.DkimManage, (PA, Reach.All));
        Row(Operation.KeyVersionList, (PA, Reach.All), (SO, Reach.All), (AU, Reach.All), (DA, Reach.Tenant));
        // The signature is what counts (checked against the trust anchor); the role only says who may hand it in.
        Row(Operation.KeyVersionEndorse, (PA, Reach.All), (SO, Reach.All), (DA, Reach.Tenant), (SYS, Reach.All));
        Row(Operation.TrustAnchorChange, (SO, Reach.All), (PA, Reach.All));
        // The k officers' shares are what opens anything; the roles only say who moves the files.
        Row(Operation.RecoveryRequest, (SO, Reach.All), (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.RecoveryApply, (SO, Reach.All), (PA, Reach.All));
        Row(Operation.AccessGrantRequest, (SO, Reach.All), (PA, Reach.All), (DA, Reach.Tenant));
        Row(Operation.AccessGrantApprove, (SO, Reach.All));
        Row(Operation.AccessGrantList, (SO, Reach.All), (PA, Reach.All), (AU, Reach.All), (DA, Reach.Tenant));
        Row(Operation.AccessGrantRevoke, (SO, Reach.All), (PA, Reach.All), (SYS, Reach.All)); // the server ends expired grants
        Row(Operation.GrantedMailRead, (U, Reach.Own));

        Row(Operation.QueueRead, (PA, Reach.All), (OP, Reach.All));
        Row(Operation.QueueManage, (PA, Reach.All), (OP, Reach.All));
        Row(Operation.QueueDeliver, (SYS, Reach.All));
        Row(Operation.ConfigurationRead, (PA, Reach.All), (OP, Reach.All), (AU, Reach.All));
        Row(Operation.ConfigurationChange, (PA, Reach.All), (SYS, Reach.All));
        Row(Operation.BackupCreate, (PA, Reach.All), (OP, Reach.All));
        Row(Operation.TlsCertificateStore, (PA, Reach.All), (SYS, Reach.All)); // the server stores what its ACME CA issued

        Row(Operation.AuditRead, (AU, Reach.All), (SO, Reach.All));
        Row(Operation.AuditPublish, (SYS, Reach.All));
        Row(Operation.AuditArchive, (PA, Reach.All), (SO, Reach.All));
        return t;
    }
}

/// <summary>Names the operation a public domain-service method performs (and checks first).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresAttribute(Operation operation) : Attribute
{
    public Operation Operation { get; } = operation;
}

/// <summary>Marks a class whose public methods are domain-service operations (each needs <see cref="RequiresAttribute"/>).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class DomainServiceAttribute : Attribute;
