using System.Text.Json;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Domain;

/// <summary>An access grant as administrators, officers and auditors see it (never a key).</summary>
public sealed record AccessGrantView(string Id, string Grantee, string Mailbox, string Justification, string RequestedBy, DateTimeOffset RequestedAt,
    DateTimeOffset NotBefore, DateTimeOffset ExpiresAt, AccessGrantState State, IReadOnlyList<string> ApprovedBy, DateTimeOffset? EndedAt, long GranteeAccountId, long TargetAccountId);

/// <summary>A grant a grantee's session can read under now: the owner's address and the owner's keys it opened.</summary>
public sealed record OpenGrant(AccessGrant Grant, string OwnerAddress, IAccountSession OwnerKeys);

/// <summary>
/// The only way anyone but the owner reads a mailbox: a request (who, whose mailbox, why, for when), two
/// security officers' approvals signed with their personal keys (neither the requester), the officers'
/// offline recovery sealing the owner's keys to the grantee's endorsed key, then read-only reads until
/// the grant expires or is revoked, each read audited. When it ends its keys are deleted.
/// </summary>
[DomainService]
public sealed class AccessGrantService(ISealpostStore store, KeyTrust trust, AccessGuard guard, TimeProvider time)
{
    /// <summary>Where the organisation's policy tells owners of grants (<c>Vault:TellOwnersOfGrants</c>): the notices to send; null: owners are not told.</summary>
    public OwnerNotices? OwnerNotices { get; init; }

    /// <summary>The longest window one grant may have.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(90);

    private IDirectoryStore Dir => store.Directory;

    public static string Target(string id) => "grant " + id;

    private async Task<(Account Account, long Tenant)> AccountAsync(string address, CancellationToken ct)
    {
        var account = await Dir.FindAccountAsync(MailAddress.Parse(address), ct) ?? throw SealpostException.NotFound($"no account '{DomainName.Printable(address)}'");
        var tenant = (await Dir.ListDomainsAsync(ct)).First(d => d.Id == account.DomainId).TenantId;
        return (account, tenant);
    }

    private static IReadOnlyList<GrantApproval> Approvals(AccessGrant grant) =>
        string.IsNullOrEmpty(grant.Approvals) ? [] : JsonSerializer.Deserialize<List<GrantApproval>>(grant.Approvals, Json) ?? [];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private async Task<AccessGrantView> ViewAsync(AccessGrant grant, CancellationToken ct)
    {
        var grantee = await Dir.GetAccountAsync(grant.GranteeAccountId, ct);
        var owner = await Dir.GetAccountAsync(grant.TargetAccountId, ct);
        return new AccessGrantView(grant.Id, grantee?.Address.ToString() ?? "(deleted)", owner?.Address.ToString() ?? "(deleted)", grant.Justification, grant.RequestedBy,
            grant.RequestedAt, grant.NotBefore, grant.ExpiresAt, grant.State, Approvals(grant).Select(a => a.Name).ToList(), grant.EndedAt, grant.GranteeAccountId, grant.TargetAccountId);
    }

    private async Task<AccessGrant> GetAsync(string id, CancellationToken ct) =>
        (id.Length == 32 && id.All(char.IsAsciiHexDigitLower) ? await Dir.GetAccessGrantAsync(id, ct) : null) ?? throw SealpostException.NotFound($"no access grant '{(id.Length <= 64 ? id : id[..64])}'");

    /// <summary>Asks that <paramref name="grantee"/> read <paramref name="mailbox"/>'s mail, read-only, from <paramref name="notBefore"/> until <paramref name="expiresAt"/>.</summary>
    [Requires(Operation.AccessGrantRequest)]
    public Task<AccessGrantView> RequestAsync(Actor actor, string grantee, string mailbox, string justification, DateTimeOffset? notBefore, DateTimeOffset expiresAt, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AccessGrantRequested, mailbox, async () =>
        {
            var (owner, tenant) = await AccountAsync(mailbox, ct);
            guard.Require(actor, Operation.AccessGrantRequest, Scope.OfAccount(tenant, owner.Id));
            var (reader, _) = await AccountAsync(grantee, ct);
            if (reader.Id == owner.Id)
            {
                throw SealpostException.Invalid("the owner reads their own mail without a grant");
            }

            if (owner.State == AccountState.Deleted || reader.State != AccountState.Active)
            {
                throw SealpostException.Conflict("the grantee must be active and the mailbox not deleted");
            }

            var text = (justification ?? "").Trim();
            if (text.Length is < 10 or > 2000)
            {
                throw SealpostException.Invalid("the justification is 10 to 2000 characters: why, under which authority, which case");
            }

            var now = time.GetUtcNow();
            var from = notBefore ?? now;
            if (expiresAt <= from || expiresAt <= now || expiresAt - from > MaxWindow)
            {
                throw SealpostException.Invalid($"the window must end after it starts, in the future, at most {MaxWindow.TotalDays:0} days long");
            }

            var grant = new AccessGrant(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)), reader.Id, owner.Id, text, actor.Name, now,
                Truncate(from), Truncate(expiresAt), AccessGrantState.Requested, "", 0, [], null);
            await Dir.AddAccessGrantAsync(grant, ct);
            return (await ViewAsync(grant, ct), (string?)$"{reader.Address} to read {owner.Address} read-only from {grant.NotBefore:u} until {grant.ExpiresAt:u}; grant {grant.Id}");
        }, ct);

    // Milliseconds, as stored: the terms the officers sign are the terms read back.
    private static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    /// <summary>The bytes an approving officer signs for a grant (what 'sealpost grants approve' signs with a personal key).</summary>
    public static byte[] ApprovalPayload(AccessGrantView grant) =>
        RecoveryGrantTerms.Payload(grant.Id, grant.GranteeAccountId, grant.TargetAccountId, grant.NotBefore, grant.ExpiresAt, grant.Justification);

    /// <summary>
    /// Adds one officer's signed approval. The signer must be a security officer of the trust anchor,
    /// not the requester, not one who approved already; whoever hands it in must not be the requester.
    /// The second approval makes the grant approved.
    /// </summary>
    [Requires(Operation.AccessGrantApprove)]
    public Task<AccessGrantView> ApproveAsync(Actor actor, string id, GrantApproval approval, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AccessGrantApproved, Target(id), async () =>
        {
            await guard.RequireAsync(actor, Operation.AccessGrantApprove, Scope.Platform);
            for (var attempt = 0; ; attempt++)
            {
                var grant = await GetAsync(id, ct);
                if (grant.State != AccessGrantState.Requested)
                {
                    throw SealpostException.Conflict($"grant {id} is {grant.State.ToString().ToLowerInvariant()}, not waiting for approvals");
                }

                if (string.Equals(actor.Name, grant.RequestedBy, StringComparison.OrdinalIgnoreCase))
                {
                    throw new SealpostException(ErrorKind.Forbidden, "the requester of a grant cannot approve it");
                }

                var approvals = Approvals(grant).ToList();
                var before = RecoveryGrantTerms.CheckApprovals(trust.Chain, grant.Id, grant.GranteeAccountId, grant.TargetAccountId, grant.NotBefore, grant.ExpiresAt, grant.Justification, grant.RequestedBy, approvals);
                var after = RecoveryGrantTerms.CheckApprovals(trust.Chain, grant.Id, grant.GranteeAccountId, grant.TargetAccountId, grant.NotBefore, grant.ExpiresAt, grant.Justification, grant.RequestedBy, [.. approvals, approval]);
                if (after.Count == before.Count)
                {
                    var name = trust.Chain.Reverse().Select(a => a.Find(approval.PublicKey)).First(p => p is not null)!.Name;
                    throw new SealpostException(ErrorKind.Forbidden, $"{name} approved this grant already: two different officers approve a grant");
                }

                var named = approval with { Name = after.Except(before, StringComparer.OrdinalIgnoreCase).Single() };
                approvals.Add(named);
                var updated = grant with { Approvals = JsonSerializer.Serialize(approvals, Json), State = after.Count >= 2 ? AccessGrantState.Approved : AccessGrantState.Requested };
                if (await Dir.ReplaceAccessGrantAsync(grant, updated, ct))
                {
                    return (await ViewAsync(updated, ct), (string?)$"approved by {named.Name}; now {updated.State.ToString().ToLowerInvariant()}");
                }

                if (attempt >= 3)
                {
                    throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the grant kept changing; try again");
                }
            }
        }, ct);

    /// <summary>Every grant the actor may see (a department administrator: those of their department's mailboxes).</summary>
    [Requires(Operation.AccessGrantList)]
    public async Task<IReadOnlyList<AccessGrantView>> ListAsync(Actor actor, CancellationToken ct = default)
    {
        if (!guard.Allows(actor, Operation.AccessGrantList, Scope.Platform))
        {
            await guard.RequireAsync(actor, Operation.AccessGrantList, Scope.OfTenant(actor.TenantId ?? -1));
        }

        var tenants = (await Dir.ListDomainsAsync(ct)).ToDictionary(d => d.Id, d => d.TenantId);
        var result = new List<AccessGrantView>();
        foreach (var grant in await Dir.ListAccessGrantsAsync(ct))
        {
            var owner = await Dir.GetAccountAsync(grant.TargetAccountId, ct);
            if (guard.Allows(actor, Operation.AccessGrantList, Scope.OfAccount(owner is null ? -1 : tenants.GetValueOrDefault(owner.DomainId), grant.TargetAccountId)))
            {
                result.Add(await ViewAsync(grant, ct));
            }
        }

        return result;
    }

    /// <summary>One grant, for those who may list it.</summary>
    [Requires(Operation.AccessGrantList)]
    public async Task<AccessGrantView> GetAsync(Actor actor, string id, CancellationToken ct = default)
    {
        if (!guard.Allows(actor, Operation.AccessGrantList, Scope.Platform))
        {
            await guard.RequireAsync(actor, Operation.AccessGrantList, Scope.OfTenant(actor.TenantId ?? -1)); // no reach at all: refused before anything is looked up
        }

        var grant = await GetAsync(id, ct);
        var owner = await Dir.GetAccountAsync(grant.TargetAccountId, ct);
        var tenant = owner is null ? -1 : (await Dir.ListDomainsAsync(ct)).First(d => d.Id == owner.DomainId).TenantId;
        await guard.RequireAsync(actor, Operation.AccessGrantList, Scope.OfAccount(tenant, grant.TargetAccountId));
        return await ViewAsync(grant, ct);
    }

    /// <summary>The terms a recovery request for an approved grant carries (so the officers' offline machine checks the approvals).</summary>
    internal async Task<(AccessGrant Grant, RecoveryGrantTerms Terms)> ApprovedTermsAsync(string id, CancellationToken ct)
    {
        var grant = await GetAsync(id, ct);
        if (grant.State != AccessGrantState.Approved)
        {
            throw SealpostException.Conflict($"grant {id} is {grant.State.ToString().ToLowerInvariant()}: only an approved grant goes to the officers' offline machine");
        }

        if (grant.ExpiresAt <= time.GetUtcNow())
        {
            throw SealpostException.Conflict($"grant {id} expired at {grant.ExpiresAt:u}");
        }

        return (grant, new RecoveryGrantTerms(grant.Id, grant.Justification, grant.NotBefore, grant.ExpiresAt, grant.RequestedBy, Approvals(grant)));
    }

    /// <summary>Stores the keys the offline machine sealed to the grantee: the grant is active.</summary>
    internal async Task ActivateAsync(string id, int holderVersion, RecoveryResponse response, CancellationToken ct)
    {
        var grant = await GetAsync(id, ct);
        if (grant.State != AccessGrantState.Approved)
        {
            throw SealpostException.Conflict($"grant {id} is {grant.State.ToString().ToLowerInvariant()}: not activated");
        }

        var updated = grant with { State = AccessGrantState.Active, HolderVersion = holderVersion, Wraps = GrantKeys.Encode(response) };
        if (!await Dir.ReplaceAccessGrantAsync(grant, updated, ct))
        {
            throw SealpostException.Conflict($"grant {id} changed meanwhile (revoked?): not activated");
        }

        await guard.Audit.RecordAsync(AuditEvent.Of(Actor.System(), AuditAction.AccessGrantActivated, Target(id), AuditOutcome.Success,
            $"key versions {string.Join(",", response.Keys.Select(k => k.Version).Order())} sealed to the grantee's version {holderVersion}; until {grant.ExpiresAt:u}" +
            (OwnerNotices is null ? "; the owner is not told (policy)" : "; the owner is told (policy)")), Audit.AuditDurability.Store);
        if (OwnerNotices is not null && await Dir.GetAccountAsync(grant.TargetAccountId, ct) is { } owner && await Dir.GetAccountAsync(grant.GranteeAccountId, ct) is { } grantee)
        {
            await OwnerNotices.AccessGrantedAsync(owner, grantee.Address.ToString(), grant.NotBefore, grant.ExpiresAt, ct);
        }
    }

    /// <summary>Ends a grant now: its keys are deleted; the grantee's sessions lose the mailbox at their next command.</summary>
    [Requires(Operation.AccessGrantRevoke)]
    public Task<AccessGrantView> RevokeAsync(Actor actor, string id, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AccessGrantEnded, Target(id), async () =>
        {
            await guard.RequireAsync(actor, Operation.AccessGrantRevoke, Scope.Platform);
            var ended = await EndAsync(id, AccessGrantState.Revoked, ct) ?? throw SealpostException.Conflict($"grant {id} has ended already");
            return (await ViewAsync(ended, ct), (string?)"revoked; its keys deleted");
        }, ct);

    private async Task<AccessGrant?> EndAsync(string id, AccessGrantState state, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var grant = await GetAsync(id, ct);
            if (grant.State is AccessGrantState.Revoked or AccessGrantState.Expired)
            {
                return null;
            }

            var ended = grant with { State = state, Wraps = [], EndedAt = time.GetUtcNow() };
            if (await Dir.ReplaceAccessGrantAsync(grant, ended, ct))
            {
                return ended;
            }
        }

        throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the grant kept changing; try again");
    }

    /// <summary>Ends every grant whose time is up (its keys deleted); run by every node on a timer, and harmless twice.</summary>
    [Requires(Operation.AccessGrantRevoke)]
    public async Task<int> ExpireDueAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.AccessGrantRevoke, Scope.Platform);
        var now = time.GetUtcNow();
        var count = 0;
        foreach (var grant in (await Dir.ListAccessGrantsAsync(ct)).Where(g => g.ExpiresAt <= now && g.State is not (AccessGrantState.Revoked or AccessGrantState.Expired)))
        {
            if (await EndAsync(grant.Id, AccessGrantState.Expired, ct) is not null)
            {
                count++;
                await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.AccessGrantEnded, Target(grant.Id), AuditOutcome.Success, $"expired at {grant.ExpiresAt:u}; its keys deleted"), Audit.AuditDurability.Store);
            }
        }

        return count;
    }

    /// <summary>The grants the logged-in grantee reads under now, with the owners' keys opened by the grantee's own.</summary>
    [Requires(Operation.GrantedMailRead)]
    public async Task<IReadOnlyList<OpenGrant>> OpenForAsync(Actor actor, IAccountSession granteeKeys, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.GrantedMailRead, Scope.OfAccount(actor.TenantId ?? -1, granteeKeys.AccountId));
        var now = time.GetUtcNow();
        var result = new List<OpenGrant>();
        foreach (var grant in (await Dir.ListAccessGrantsAsync(ct)).Where(g => g.GranteeAccountId == granteeKeys.AccountId && g.OpenAt(now)))
        {
            var owner = await Dir.GetAccountAsync(grant.TargetAccountId, ct);
            if (owner is null || owner.State == AccountState.Deleted)
            {
                continue;
            }

            if (GrantKeys.Open(granteeKeys, grant, await Dir.ListAccountKeysAsync(owner.Id, ct)) is { } keys)
            {
                result.Add(new OpenGrant(grant, owner.Address.ToString(), keys));
            }
        }

        return result;
    }

    /// <summary>True while the grant is active and inside its window (checked before every read under it).</summary>
    public async Task<bool> IsOpenAsync(string id, CancellationToken ct = default) =>
        await Dir.GetAccessGrantAsync(id, ct) is { } grant && grant.OpenAt(time.GetUtcNow());

    /// <summary>Records one read under a grant: which mailbox, which messages; never content.</summary>
    [Requires(Operation.GrantedMailRead)]
    public Task RecordReadAsync(Actor actor, AccessGrant grant, long mailboxId, string what, CancellationToken ct = default)
    {
        guard.Require(actor, Operation.GrantedMailRead, Scope.OfAccount(actor.TenantId ?? -1, grant.GranteeAccountId));
        return guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.GrantedMailRead, Target(grant.Id), AuditOutcome.Success, $"mailbox {mailboxId}: {what}"), Audit.AuditDurability.Store);
    }
}
