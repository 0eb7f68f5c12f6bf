using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Domain;
using Sealpost.Domain.Administration;

namespace Sealpost.Web;

// Requests: every field the API accepts; anything else is refused (400).
public sealed record SignInRequest(string Address, string Password, string? Code = null);
public sealed record SignOutRequest(bool Everywhere = false);
public sealed record CodeRequest(string Code);
public sealed record PasswordChangeRequest(string CurrentPassword, string NewPassword);
/// <summary>The owner's address outside the mail system for security notices (empty clears it).</summary>
public sealed record NotifyAddressRequest(string? Address);
public sealed record AppPasswordRequest(string Label, string Password);
public sealed record TokenRequest(string Label, IReadOnlyList<string> Roles, int ExpiresInDays = 90, IReadOnlyList<string>? Domains = null);
public sealed record TenantRequest(string Name, string? DisplayName = null);
public sealed record DomainRequest(string Name, string Tenant = "default");
public sealed record AccountRequest(string Address, string? Password = null, string? DisplayName = null, long? QuotaBytes = null, bool Enrol = false);
public sealed record EnrolRequest(string Address, string Token, string Password);
public sealed record EnrolResponse(string Address, DateTimeOffset EnrolledAt, string From);
/// <summary>An enrolment token, shown once, in the answer to the account's creation.</summary>
public sealed record EnrolmentTokenResponse(string Token, DateTimeOffset ExpiresAt);
public sealed record AccountPatch(string? DisplayName = null, long? QuotaBytes = null);
/// <summary>A person's signature over an account key version, made on their machine from their personal key.</summary>
public sealed record EndorsementRequest(string? Role, string? PublicKey, string? Signature);
/// <summary>Asks for a recovery request file: the account whose lost key versions are handed back (purpose "restore"), or an approved access grant's keys (purpose "grant").</summary>
public sealed record RecoveryRequestBody(string? Address, string? Purpose, string? Grant = null);
/// <summary>Asks that one person read another's mailbox, read-only, for a time.</summary>
public sealed record AccessGrantRequestBody(string? Grantee, string? Mailbox, string? Justification, DateTimeOffset? NotBefore = null, DateTimeOffset? ExpiresAt = null);
/// <summary>An officer's approval: their personal public key and their signature over the grant's terms (<c>approvalPayload</c>).</summary>
public sealed record AccessGrantApprovalBody(string? PublicKey, string? Signature);
/// <summary>An access grant: who reads whose mailbox, why, when, its state and approving officers; <c>approvalPayload</c> is what an officer signs.</summary>
public sealed record AccessGrantResponse(string Id, string Grantee, string Mailbox, string Justification, string RequestedBy, DateTimeOffset RequestedAt,
    DateTimeOffset NotBefore, DateTimeOffset ExpiresAt, string State, IReadOnlyList<string> ApprovedBy, DateTimeOffset? EndedAt, string ApprovalPayload);
/// <summary>A recovery response applied: the key versions handed back.</summary>
public sealed record RecoveryAppliedResponse(string RequestId, IReadOnlyList<int> Versions);
/// <summary>A key version: state and fingerprints, never a key (the public keys are what signers sign over).</summary>
public sealed record KeyVersionResponse(string Address, int Version, string State, string Reason, string Fingerprint, string PublicKey, string? SigningPublicKey, DateTimeOffset CreatedAt, long AccountId);
public sealed record TrustPersonResponse(string Name, string Role, string PublicKey);
public sealed record TrustAnchorResponse(int Generation, string Fingerprint, int Threshold, IReadOnlyList<TrustPersonResponse> People, IReadOnlyList<int> RecoveryKeyVersions, string? Previous);
public sealed record PasswordResetRequest(string? NewPassword = null, bool Enrol = false);
public sealed record AliasRequest(string Alias, string Target);
public sealed record GroupRequest(string Address, string? DisplayName = null);

// Responses.
public sealed record SignInResponse(string Token, DateTimeOffset ExpiresAt, bool SecondFactorPassed, string Next);
public sealed record MeResponse(string Address, string DisplayName, IReadOnlyList<string> Roles, bool SecondFactorEnrolled, string CredentialKind, bool Restricted, DateTimeOffset ExpiresAt, DateTimeOffset? EnrolledAt = null, string? EnrolledFrom = null);
public sealed record TotpEnrolmentResponse(string Secret, string Uri, string QrSvg);
public sealed record RecoveryCodesResponse(IReadOnlyList<string> RecoveryCodes);
public sealed record AppPasswordResponse(long Id, string Label, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, string? Secret = null);
public sealed record CredentialResponse(long Id, string Kind, string Label, IReadOnlyList<string> Roles, IReadOnlyList<string> Domains, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? LastUsedAt, string? Secret = null);
public sealed record LoginResponse(DateTimeOffset Time, string Outcome, string? Protocol, string? RemoteAddress, string? Detail);
public sealed record TenantResponse(string Name, string DisplayName, DateTimeOffset CreatedAt);
public sealed record DomainResponse(string Name, string Tenant, DateTimeOffset CreatedAt);
public sealed record AccountResponse(string Address, string DisplayName, string State, long QuotaBytes, long UsedBytes, long Messages, IReadOnlyList<string> Roles, DateTimeOffset CreatedAt, int Version, EnrolmentTokenResponse? Enrolment = null);
public sealed record AliasResponse(string Alias, string? Target);
public sealed record GroupMemberResponse(string Address, string Kind);
public sealed record GroupResponse(string Address, string DisplayName, IReadOnlyList<GroupMemberResponse> Members);
public sealed record DkimRequest(string Algorithm = "rsa", string? Selector = null, bool Rotate = false, string? PrivateKeyPem = null);
public sealed record DkimPublishedResponse(string Selector, string Algorithm, string DnsRecord, DateTimeOffset Retired);
public sealed record DkimResponse(string Domain, string Selector, string Algorithm, DateTimeOffset Created, string DnsRecord, string ZoneLine, IReadOnlyList<DkimPublishedResponse> Previous);
public sealed record RoleHolderResponse(string Address, IReadOnlyList<string> Roles);
public sealed record LockoutResponse(string Kind, string Subject, int Failures, DateTimeOffset Until);
public sealed record DomainRecordResponse(string Purpose, string Name, string Type, string Value, string Record);
public sealed record NodeResponse(string Node, bool Running, DateTimeOffset? StartedAt, string? Started, DateTimeOffset? StoppedAt);
public sealed record VersionResponse(string Product, string Version, string Api);

/// <summary>A backup written on the server: its folder's name and path there, files and octets.</summary>
public sealed record BackupResponse(string Name, string Path, int Files, long Bytes);
public sealed record AuditRecordResponse(long Sequence, string Node, DateTimeOffset Time, string Actor, string Role, string Action, string? Target, string Outcome, string? Detail, string? Source, string Protocol, string CorrelationId, string Hash);

public sealed record QueueRecipientResponse(string Address, string State, string? LastReply, string? Host, string? Tls, DateTimeOffset? At);
public sealed record QueueEntryResponse(long Id, string State, string ReturnPath, long Size, int Attempts, DateTimeOffset CreatedAt, DateTimeOffset NextAttemptAt,
    string? LastError, IReadOnlyList<QueueRecipientResponse> Recipients);

/// <summary>A page of a list and the cursor of the next one (null on the last page).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

internal static class Dto
{
    public static AccessGrantResponse Grant(Sealpost.Domain.AccessGrantView g) =>
        new(g.Id, g.Grantee, g.Mailbox, g.Justification, g.RequestedBy, g.RequestedAt, g.NotBefore, g.ExpiresAt, g.State.ToString().ToLowerInvariant(), g.ApprovedBy, g.EndedAt,
            Convert.ToBase64String(Sealpost.Domain.AccessGrantService.ApprovalPayload(g)));

    public static KeyVersionResponse KeyVersion(Sealpost.Domain.KeyVersionView v) =>
        new(v.Address, v.Version, v.State.ToString().ToLowerInvariant(), v.Reason, v.Fingerprint, Convert.ToBase64String(v.PublicKey),
            v.SigningPublicKey is null ? null : Convert.ToBase64String(v.SigningPublicKey), v.CreatedAt, v.AccountId);

    public static TrustAnchorResponse Anchor(Sealpost.Crypto.Vault.TrustAnchor a) =>
        new(a.Generation, a.Fingerprint, a.Threshold, a.People.Select(p => new TrustPersonResponse(p.Name, p.Role, Convert.ToBase64String(p.PublicKey))).ToList(),
            a.RecoveryKeys.Select(k => k.Version).ToList(), a.Previous);

    public static IReadOnlyList<string> Roles(AccountRoles roles) =>
        Enum.GetValues<Role>().Where(r => r != Role.System && roles.HasFlag(RoleNames.Flag(r))).Select(RoleNames.Of).ToList();

    public static AccountResponse Account(AccountSummary s) => new(
        s.Account.Address.ToString(), s.Account.DisplayName, s.Account.State.ToString().ToLowerInvariant(), s.Account.QuotaBytes, s.UsedBytes, s.Messages,
        Roles(s.Account.Roles), s.Account.CreatedAt, s.Account.CredentialVersion);

    public static CredentialResponse Credential(ApiCredential c, string? secret = null) => new(
        c.Id, c.Kind == ApiCredentialKind.Token ? "token" : "session", c.Label, Roles(c.Roles), c.Domains, c.CreatedAt, c.ExpiresAt, c.LastUsedAt, secret);

    public static AuditRecordResponse Audit(AuditRecord r) => new(
        r.Sequence, r.Node, r.Event.Time, r.Event.Actor, r.Event.Role, r.Event.Action.ToString(), r.Event.Target,
        r.Event.Outcome.ToString(), r.Event.Detail, r.Event.Source, r.Event.Protocol, r.Event.CorrelationId, Convert.ToHexStringLower(r.Hash));

    /// <summary>A DKIM key as administrators see it: selector, algorithm and the DNS record, never the private key.</summary>
    public static DkimResponse Dkim(Sealpost.Mime.Dkim.DkimKey key, IReadOnlyList<Sealpost.Domain.DkimPublished> previous) => new(
        key.Domain, key.Selector, key.Algorithm, key.Created, key.DnsRecord, key.ZoneLine,
        previous.Select(p => new DkimPublishedResponse(p.Selector, p.Algorithm, p.DnsRecord, p.Retired)).ToList());

    public static string ETag(int version) => $"\"v{version}\"";

    public static QueueEntryResponse Queue(Sealpost.Domain.Queue.QueueEntryView e) => new(
        e.Id, e.StateName(DateTimeOffset.UtcNow), e.ReturnPath, e.Size, e.Attempts, e.CreatedAt, e.NextAttemptAt, e.LastError,
        e.Recipients.Select(r => new QueueRecipientResponse(r.Address, r.State.ToString().ToLowerInvariant(), r.LastReply, r.Host, r.Tls, r.At)).ToList());
}
