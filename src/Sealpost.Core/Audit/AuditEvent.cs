using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Sealpost.Core.Audit;

/// <summary>Every kind of record the audit trail holds. Names are stable: they are what auditors search for.</summary>
public enum AuditAction
{
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    MessageDelivered,
    MessageSubmitted,
    /// <summary>A queued message finished: the detail counts recipients delivered and bounced.</summary>
    MessageSent,
    /// <summary>A delivery status notification (bounce or delay warning) made for a sender.</summary>
    MessageBounced,

    TenantCreated,
    DomainAdded,
    DomainRemoved,
    AccountCreated,
    AccountSuspended,
    AccountActivated,
    AccountDeleted,
    PasswordChanged,
    PasswordReset,
    AppPasswordCreated,
    KeyRotated,
    /// <summary>A public key version created (account, shared mailbox or recovery): the detail holds its fingerprint.</summary>
    KeyVersionCreated,
    /// <summary>A domain's DKIM key created or rotated: the detail names selector and algorithm.</summary>
    DkimKeyCreated,
    AliasAdded,
    AliasRemoved,
    GroupCreated,
    GroupMemberAdded,
    GroupMemberRemoved,
    RoleGranted,
    RoleRevoked,
    LockoutLifted,

    QueueHeld,
    QueueReleased,
    QueueRetried,
    QueueDeleted,

    ConfigurationChanged,
    ServerStarted,
    ServerStopped,

    AuditExported,
    AuditSearched,
    AuditVerified,
    /// <summary>Records up to a signed boundary moved out of the live trail into an archive file.</summary>
    AuditArchived,
    /// <summary>A backup of the data folder written (the detail: its name, files and octets).</summary>
    BackupCreated,
    /// <summary>A data folder made from a backup with <c>sealpost restore</c> (recorded in the restored trail: the backup's name, files).</summary>
    BackupRestored,

    /// <summary>An action the permission matrix refused (the detail names the operation).</summary>
    ActionRefused,

    /// <summary>Display name or quota changed.</summary>
    AccountUpdated,
    AppPasswordRevoked,
    /// <summary>An API token made (the detail: label, roles, expiry; never the secret).</summary>
    ApiTokenCreated,
    /// <summary>API sessions or tokens revoked (sign-out, sign-out everywhere, a token withdrawn).</summary>
    ApiCredentialRevoked,
    SecondFactorEnrolled,
    /// <summary>An administrator removed an account's TOTP (a lost phone); the owner enrols again.</summary>
    SecondFactorRemoved,
    /// <summary>A one-time recovery code was spent instead of a TOTP code.</summary>
    RecoveryCodeUsed,
    /// <summary>The first platform administrator made offline with <c>sealpost admin bootstrap</c>.</summary>
    AdministratorBootstrapped,
    /// <summary>An account crypto-shredded: every key wrap removed, its mail and folders deleted (the detail counts them).</summary>
    AccountShredded,
    /// <summary>The server's master key rebuilt from officers' shares (the detail: which share numbers, how many were refused).</summary>
    ServerUnsealed,
    /// <summary>The officers' shares replaced by a new split of the same master key (the detail: old and new set, k of n).</summary>
    UnsealSharesRotated,
    /// <summary>A person redeemed their enrolment token with a password of their own (the detail: from where).</summary>
    AccountEnrolled,
    /// <summary>Security officers approved a node certificate for peer unseal (the detail: fingerprint, label).</summary>
    PeerApproved,
    PeerRevoked,
    /// <summary>A node asked this one for the master key over mutual TLS (refused unless its certificate is approved).</summary>
    PeerUnseal,
    /// <summary>The officers' trust anchor pinned or its next generation taken (the detail: generation, fingerprint, threshold).</summary>
    TrustAnchorChanged,
    /// <summary>A requester's or approver's signature over an account key version handed in (the detail: version, fingerprint, signer, resulting state).</summary>
    KeyVersionEndorsed,
    /// <summary>A recovery request exported for the officers' offline machine (the detail: purpose, key versions, holder version, request id).</summary>
    RecoveryRequested,
    /// <summary>The offline machine's response handed in: key versions handed back to the holder's key (the detail: versions, request id).</summary>
    RecoveryApplied,
    /// <summary>An access grant asked for (the detail: grantee, whose mailbox, window, justification's length, id).</summary>
    AccessGrantRequested,
    /// <summary>An officer's signed approval of an access grant handed in (the detail: officer, resulting state).</summary>
    AccessGrantApproved,
    /// <summary>An access grant's keys handed over: it is active (the detail: key versions, until when).</summary>
    AccessGrantActivated,
    /// <summary>An access grant ended: revoked, or expired (its keys deleted).</summary>
    AccessGrantEnded,
    /// <summary>A grantee read a message (or a listing) of the mailbox their grant names (the detail: grant, mailbox id, UIDs; never content).</summary>
    GrantedMailRead,
    /// <summary>An owner set or cleared their address for security notices (the detail: its domain).</summary>
    NotifyAddressChanged,
    /// <summary>A TLS certificate kept in the keystore, imported or issued by the ACME CA (the detail: SHA-256 fingerprint, names, expiry).</summary>
    TlsCertificateStored,
    /// <summary>The ACME account key made (the detail: the public key's SHA-256).</summary>
    AcmeAccountKeyCreated,
}

/// <summary>Facts about actions that every audit store applies alike.</summary>
public static class AuditActions
{
    /// <summary>
    /// Logins, deliveries and refusals: the records that come by the thousand. Stores may commit a
    /// batch of only these without waiting for the disk; a batch with any other record waits.
    /// </summary>
    public static bool IsHighVolume(AuditAction action) => action is AuditAction.LoginSucceeded or AuditAction.LoginFailed
        or AuditAction.LoginThrottled or AuditAction.MessageDelivered or AuditAction.MessageSubmitted or AuditAction.MessageSent or AuditAction.MessageBounced or AuditAction.ActionRefused;
}

public enum AuditOutcome
{
    Success,
    Failure,
    /// <summary>Refused by the permission matrix.</summary>
    Refused,
}

/// <summary>
/// One thing that happened, before the trail gives it a place. Never content, subjects, folder
/// names or secrets: <see cref="Target"/> is an address, a domain or a name the directory holds;
/// <see cref="Detail"/> is a mechanism, a reason, a fingerprint or a count.
/// </summary>
public sealed record AuditEvent(
    DateTimeOffset Time,
    string Actor,
    string Role,
    string? Source,
    string Protocol,
    AuditAction Action,
    string? Target,
    AuditOutcome Outcome,
    string? Detail,
    string CorrelationId)
{
    public static AuditEvent Of(Access.Actor actor, AuditAction action, string? target, AuditOutcome outcome, string? detail = null) =>
        new(DateTimeOffset.UtcNow, actor.Name, actor.PrimaryRole, actor.RemoteAddress, actor.Protocol, action, target, outcome, detail, actor.CorrelationId);
}

/// <summary>An event with its place in the one chain of the deployment.</summary>
public sealed record AuditRecord(long Sequence, string Node, AuditEvent Event, byte[] PreviousHash, byte[] Hash)
{
    public const int HashLength = 32;

    /// <summary>The hash the first record chains to.</summary>
    public static readonly byte[] GenesisHash = new byte[HashLength];

    /// <summary>
    /// SHA-256 over the previous hash and every field, each length-prefixed so that no two
    /// different records encode alike. Time is kept to the millisecond (what the stores keep).
    /// </summary>
    public static byte[] ComputeHash(long sequence, string node, AuditEvent e, ReadOnlySpan<byte> previousHash)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        hash.AppendData("sealpost-audit-v1"u8);
        hash.AppendData(previousHash);
        BinaryPrimitives.WriteInt64BigEndian(number, sequence);
        hash.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, e.Time.ToUnixTimeMilliseconds());
        hash.AppendData(number);
        foreach (var field in new[] { node, e.Actor, e.Role, e.Source, e.Protocol, e.Action.ToString(), e.Target, e.Outcome.ToString(), e.Detail, e.CorrelationId })
        {
            var bytes = field is null ? [] : Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt64BigEndian(number, field is null ? -1 : bytes.Length);
            hash.AppendData(number);
            hash.AppendData(bytes);
        }

        return hash.GetHashAndReset();
    }
}

/// <summary>
/// A signed statement "the chain had <see cref="Sequence"/> records, the last with <see cref="Hash"/>",
/// made with the keystore's audit key at an interval and at shutdown. Exported checkpoints (heads) are
/// what make a rewritten chain detectable: whoever can write the store could recompute the hashes.
/// </summary>
public sealed record AuditCheckpoint(long Sequence, byte[] Hash, DateTimeOffset Time, string Node, byte[] PublicKey, byte[] Signature)
{
    /// <summary>The bytes the audit key signs.</summary>
    public static byte[] SignedBytes(long sequence, ReadOnlySpan<byte> hash, DateTimeOffset time)
    {
        var bytes = new byte[25 + 8 + 8 + hash.Length];
        "sealpost-audit-checkpoint"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(25), sequence);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(33), time.ToUnixTimeMilliseconds());
        hash.CopyTo(bytes.AsSpan(41));
        return bytes;
    }
}

/// <summary>What a search of the trail selects; null parts match everything.</summary>
public sealed record AuditQuery(string? Actor = null, AuditAction? Action = null, string? Target = null, DateTimeOffset? Since = null, DateTimeOffset? Until = null, long AfterSequence = 0, int Limit = 1000);

/// <summary>
/// The audit store, apart from the mail store (its own SQLite file, or its own PostgreSQL database
/// written through an insert-only role). Append-only: there is no update or delete.
/// </summary>
public interface IAuditStore : IAsyncDisposable
{
    /// <summary>
    /// Appends events to the chain as one durable transaction, under a lock every node shares, and
    /// returns them with their sequence numbers and hashes.
    /// </summary>
    Task<IReadOnlyList<AuditRecord>> AppendAsync(string node, IReadOnlyList<AuditEvent> events, CancellationToken ct = default);

    /// <summary>
    /// Appends a batch drained from a node's local spool, named by <paramref name="spoolKey"/> (the
    /// hash of its last spool line), recording the key in the same transaction. A batch whose key is
    /// already recorded is not appended again (a drain cut off between the store's commit and the
    /// spool's removal) and the answer is false.
    /// </summary>
    Task<bool> AppendSpooledAsync(string node, IReadOnlyList<AuditEvent> events, byte[] spoolKey, CancellationToken ct = default);

    /// <summary>A consistent copy of the trail into <paramref name="file"/> (SQLite); PostgreSQL refuses, as its store does.</summary>
    Task BackupToAsync(string file, CancellationToken ct = default);

    /// <summary>Records in sequence order from <paramref name="fromSequence"/> (inclusive), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<AuditRecord>> ReadAsync(long fromSequence, int limit, CancellationToken ct = default);

    Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct = default);

    /// <summary>The last record, or null for an empty trail.</summary>
    Task<AuditRecord?> GetHeadAsync(CancellationToken ct = default);

    Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct = default);

    Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct = default);

    /// <summary>Takes and releases the append lock: throws <see cref="ErrorKind.TemporarilyUnavailable"/> if an append could not happen now.</summary>
    Task ProbeAsync(CancellationToken ct = default);

    /// <summary>
    /// Removes the records up to <paramref name="throughSequence"/> after they were archived; the
    /// signed checkpoint at that sequence (the boundary) stays, so the rest still verifies.
    /// </summary>
    Task PruneThroughAsync(long throughSequence, CancellationToken ct = default);
}

/// <summary>Reads an audit row in the column order every audit store selects.</summary>
public static class AuditRows
{
    public const string Columns = "seq, time_ms, node, actor, role, source, protocol, action, target, outcome, detail, correlation, prev_hash, hash";

    public static AuditRecord Read(System.Data.Common.DbDataReader r)
    {
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        var e = new AuditEvent(
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)),
            r.GetString(3), r.GetString(4), Text(5), r.GetString(6),
            Enum.TryParse<AuditAction>(r.GetString(7), out var action) ? action : (AuditAction)(-1),
            Text(8),
            Enum.TryParse<AuditOutcome>(r.GetString(9), out var outcome) ? outcome : (AuditOutcome)(-1),
            Text(10), r.GetString(11));
        return new AuditRecord(r.GetInt64(0), r.GetString(2), e, (byte[])r[12], (byte[])r[13]);
    }
}
