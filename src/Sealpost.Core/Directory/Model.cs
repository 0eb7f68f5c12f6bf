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
    /// <summary>When the state last changed (a deleted account's retention counts from here).</summary>
    public DateTimeOffset StateChangedAt { get; init; }

    /// <summary>
    /// An address outside this mail system the owner chose for security notices (a reset of their
    /// password): a channel whoever resets it cannot erase. Empty: none.
    /// </summary>
    public string NotifyAddress { get; init; } = "";

    /// <summary>0 means no quota.</summary>
    public bool HasQuota => QuotaBytes > 0;

    /// <summary>
    /// The one quota rule (RFC 9208 STORAGE counts what users see): does <paramref name="incomingBytes"/>
    /// more fit on top of <paramref name="usedBytes"/>? <paramref name="graceBytes"/> lets mail arriving
    /// by SMTP, whose sender cannot retry into a smaller mailbox, go slightly over; APPEND has none.
    /// </summary>
    public bool QuotaAllows(long usedBytes, long incomingBytes, long graceBytes = 0) =>
        !HasQuota || usedBytes + incomingBytes <= QuotaBytes + graceBytes;
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
    /// <summary>A password only its owner knows (the owner set it).</summary>
    Password = 0,
    AppPassword = 1,
    /// <summary>
    /// A password someone else set (an administrator at creation or reset): it works like a password,
    /// but the owner's first change of it makes a new key version, so whoever set it cannot open mail
    /// delivered afterwards.
    /// </summary>
    ProvisionalPassword = 2,
    /// <summary>
    /// A one-time enrolment token (shown once to whoever creates the account): wraps key version 1
    /// until the person redeems it with a password of their own. Never a login secret.
    /// </summary>
    EnrolmentToken = 3,
    /// <summary>
    /// What stays of a redeemed enrolment token: its verifier (so a second use is recognised and the
    /// person told to report it), no key wrap; the label says when and from where it was redeemed.
    /// </summary>
    EnrolmentRedeemed = 4,
    /// <summary>
    /// A key version handed back by the officers' offline recovery: its private key sealed (HPKE) to
    /// another key version of the account, named with the request in the label
    /// (<c>recovered:HOLDER-VERSION:REQUEST-ID</c>); opened at login once that version is. No verifier.
    /// </summary>
    RecoveredKey = 5,
}

/// <summary>
/// A way to log in, and the account private key (of <see cref="KeyVersion"/>) wrapped under a key
/// derived from that credential. <see cref="Verifier"/> and <see cref="WrappedKey"/> are opaque to the store.
/// </summary>
public sealed record Credential(long Id, long AccountId, CredentialKind Kind, string Label, string Verifier, int KeyVersion, byte[] WrappedKey, DateTimeOffset CreatedAt)
{
    /// <summary>When a login last used it (kept to the hour, so logins do not each write).</summary>
    public DateTimeOffset? LastUsedAt { get; init; }
}

/// <summary>A public key of an account's key ring, signed by the directory key. The highest version is current.</summary>
public sealed record AccountKey(long AccountId, int Version, byte[] PublicKey, byte[] Signature, DateTimeOffset CreatedAt);

/// <summary>An account private key wrapped to a recovery public key (only security officers can open it).</summary>
public sealed record RecoveryWrap(long AccountId, int KeyVersion, int RecoveryKeyVersion, byte[] WrappedKey);

/// <summary>The recovery public key, signed by the directory key. Its private half never reaches the server.</summary>
public sealed record RecoveryKey(int Version, byte[] PublicKey, byte[] Signature, DateTimeOffset CreatedAt);

public sealed record NewCredential(CredentialKind Kind, string Label, string Verifier, int KeyVersion, byte[] WrappedKey);

/// <summary>
/// One atomic change to an account's key ring and credentials: add a key version, add or remove
/// credentials (with their wraps), add recovery wraps. Every change bumps the credential version,
/// which invalidates cached logins.
/// </summary>
public sealed record KeyRingChange(long AccountId)
{
    public AccountKey? NewKey { get; init; }
    public bool RemoveAllCredentials { get; init; }
    /// <summary>Removes every recovery wrap too: with the credentials, the last copies of the private key (crypto-shredding).</summary>
    public bool RemoveAllRecoveryWraps { get; init; }
    public IReadOnlyList<CredentialKind> RemoveCredentialKinds { get; init; } = [];
    public IReadOnlyList<long> RemoveCredentialIds { get; init; } = [];
    public IReadOnlyList<int> RemoveCredentialWrapsOfKeyVersions { get; init; } = [];
    public IReadOnlyList<NewCredential> AddCredentials { get; init; } = [];
    public IReadOnlyList<RecoveryWrap> AddRecoveryWraps { get; init; } = [];
}

public sealed record NewAccount(long DomainId, MailAddress Address, string DisplayName, long QuotaBytes, AccountRoles Roles);

public enum ApiCredentialKind
{
    /// <summary>A browser or CLI sign-in (password and, above <c>user</c>, TOTP): short-lived.</summary>
    Session = 0,
    /// <summary>A token for automation, scoped to some of its owner's roles, with an expiry.</summary>
    Token = 1,
}

/// <summary>
/// An API session or token as stored: never its secret, only the keyed hash it is found by.
/// <see cref="SecondFactor"/> false marks a session that passed the password only (it may enrol TOTP, nothing else).
/// </summary>
public sealed record ApiCredential(
    long Id, long AccountId, ApiCredentialKind Kind, string Label, AccountRoles Roles, bool SecondFactor,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    /// <summary>Domains (A-labels) a token is limited to; empty: every domain its roles reach.</summary>
    public IReadOnlyList<string> Domains { get; init; } = [];

    public bool IsLive(DateTimeOffset now) => RevokedAt is null && ExpiresAt > now;
}

public sealed record NewApiCredential(long AccountId, ApiCredentialKind Kind, string Label, AccountRoles Roles, bool SecondFactor, byte[] LookupHash, DateTimeOffset ExpiresAt)
{
    public IReadOnlyList<string> Domains { get; init; } = [];
}

/// <summary>
/// An account's TOTP secret (sealed by the keystore, bound to the account id) and its recovery
/// codes (keyed hashes, space-separated). <see cref="LastStep"/> is the last time step used, so a code
/// cannot be replayed within its window.
/// </summary>
public sealed record SecondFactor(long AccountId, byte[] SealedSecret, bool Confirmed, long LastStep, string RecoveryCodes);

/// <summary>Where a two-officer access grant stands.</summary>
public enum AccessGrantState
{
    /// <summary>Asked for; waits for two security officers' approvals.</summary>
    Requested = 0,
    /// <summary>Approved by two officers; waits for the officers' offline recovery to hand over the keys.</summary>
    Approved = 1,
    /// <summary>The keys are handed over (sealed to the grantee's key): the grantee reads, read-only, within the window.</summary>
    Active = 2,
    Revoked = 3,
    Expired = 4,
}

/// <summary>
/// One person's read-only access to another account's mailbox: who asked, why, for when, the officers'
/// signed approvals (<see cref="Approvals"/>, JSON), and, once active, the account's key versions sealed
/// to the grantee's key version <see cref="HolderVersion"/> (<see cref="Wraps"/>, opaque; emptied when
/// the grant ends).
/// </summary>
public sealed record AccessGrant(
    string Id, long GranteeAccountId, long TargetAccountId, string Justification, string RequestedBy, DateTimeOffset RequestedAt,
    DateTimeOffset NotBefore, DateTimeOffset ExpiresAt, AccessGrantState State, string Approvals, int HolderVersion, byte[] Wraps, DateTimeOffset? EndedAt)
{
    public bool OpenAt(DateTimeOffset now) => State == AccessGrantState.Active && now >= NotBefore && now < ExpiresAt;
}
