using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Domain;

/// <summary>One account key version as officers and administrators see it: state and fingerprints, never a key.</summary>
public sealed record KeyVersionView(string Address, long AccountId, int Version, KeyVersionState State, string Reason, string Fingerprint, byte[] PublicKey, byte[]? SigningPublicKey, DateTimeOffset CreatedAt);

/// <summary>
/// The officers' side of key custody: the trust anchor (pinned at init, changed only with the
/// threshold of officers' signatures), key versions that wait for two people, and the signatures they
/// hand in. Signatures are made on each person's own machine; here they are only checked and stored.
/// </summary>
[DomainService]
public sealed class KeyCustodyService(ISealpostStore store, KeyTrust trust, AccessGuard guard, Keystore keystore, AccessGrantService grants)
{
    private IDirectoryStore Dir => store.Directory;

    /// <summary>The audit target of trust-anchor records.</summary>
    public const string AnchorTarget = "trust-anchor";

    public static string AnchorDetail(TrustAnchor anchor) =>
        $"generation {anchor.Generation} {anchor.Fingerprint}; {anchor.Threshold} of {anchor.Officers.Count()} officers; {anchor.People.Count(p => p.Role == TrustPerson.Admin)} administrators; recovery key v{anchor.CurrentRecoveryKey.Version}";

    /// <summary>The chain in force (generation 1 is the pinned one).</summary>
    [Requires(Operation.KeyVersionList)]
    public async Task<IReadOnlyList<TrustAnchor>> GetAnchorChainAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.KeyVersionList, Scope.Platform);
        return trust.Chain;
    }

    /// <summary>Records the anchor pinned by init (its fingerprint is what officers and auditors compare).</summary>
    [Requires(Operation.TrustAnchorChange)]
    public Task RecordPinnedAsync(Actor actor, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.TrustAnchorChanged, AnchorTarget, () =>
        {
            guard.Require(actor, Operation.TrustAnchorChange, Scope.Platform);
            return Task.FromResult<string?>(AnchorDetail(trust.Current) + (trust.EndorsesLocally ? "; local officer pair (test rig or --dev)" : ""));
        }, ct);

    /// <summary>Pins generation 1 in a data folder that has none (one made before trust anchors).</summary>
    [Requires(Operation.TrustAnchorChange)]
    public Task<TrustAnchor> PinAsync(Actor actor, TrustAnchor genesis, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.TrustAnchorChanged, AnchorTarget, async () =>
        {
            guard.Require(actor, Operation.TrustAnchorChange, Scope.Platform);
            await trust.PinAsync(genesis, ct);
            return (genesis, (string?)AnchorDetail(genesis));
        }, ct);

    /// <summary>Takes the next generation: it names the current one and carries the threshold of its officers' signatures.</summary>
    [Requires(Operation.TrustAnchorChange)]
    public Task<TrustAnchor> UpdateAnchorAsync(Actor actor, TrustAnchor next, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.TrustAnchorChanged, AnchorTarget, async () =>
        {
            guard.Require(actor, Operation.TrustAnchorChange, Scope.Platform);
            if (!trust.IsPinned)
            {
                throw KeyTrust.NotPinned();
            }

            await trust.UpdateAsync(next, ct);
            return (next, (string?)AnchorDetail(next));
        }, ct);

    /// <summary>Every key version of the accounts the actor may see (of one account if <paramref name="address"/> is given), optionally only those not endorsed.</summary>
    [Requires(Operation.KeyVersionList)]
    public async Task<IReadOnlyList<KeyVersionView>> ListKeyVersionsAsync(Actor actor, string? address, bool notEndorsedOnly, CancellationToken ct = default)
    {
        var accounts = address is null
            ? await Dir.ListAccountsAsync(null, ct)
            : [await Dir.FindAccountAsync(MailAddress.Parse(address), ct) ?? throw SealpostException.NotFound($"no account '{DomainName.Printable(address)}'")];
        var tenants = (await Dir.ListDomainsAsync(ct)).ToDictionary(d => d.Id, d => d.TenantId);
        var result = new List<KeyVersionView>();
        var refused = false;
        foreach (var account in accounts.Where(a => a.State != AccountState.Deleted))
        {
            if (!guard.Allows(actor, Operation.KeyVersionList, Scope.OfAccount(tenants.GetValueOrDefault(account.DomainId), account.Id)))
            {
                refused = true;
                continue;
            }

            result.AddRange((await ViewsAsync(account, ct)).Where(v => !notEndorsedOnly || v.State != KeyVersionState.Endorsed));
        }

        if (refused && (address is not null || result.Count == 0))
        {
            await guard.RequireAsync(actor, Operation.KeyVersionList, Scope.OfAccount(-1, -1)); // refused: recorded and thrown
        }

        return result;
    }

    private async Task<IReadOnlyList<KeyVersionView>> ViewsAsync(Account account, CancellationToken ct)
    {
        var ring = await Dir.ListAccountKeysAsync(account.Id, ct);
        var states = await trust.CheckAsync(account.Id, ring, ct);
        return states.Select(s => new KeyVersionView(account.Address.ToString(), account.Id, s.Version, s.State, s.Reason, s.Fingerprint, s.PublicKey, s.SigningPublicKey,
            ring.First(k => k.Version == s.Version).CreatedAt)).ToList();
    }

    /// <summary>
    /// Adds one person's signature to a key version. The signature must verify over that version and
    /// its signer must be in the trust anchor (an approver: an officer); a version made before key
    /// versions were endorsed is endorsed as it is, without a signing key of its own.
    /// </summary>
    [Requires(Operation.KeyVersionEndorse)]
    public Task<KeyVersionView> EndorseAsync(Actor actor, string address, int version, Endorsement endorsement, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.KeyVersionEndorsed, address, async () =>
        {
            var account = await Dir.FindAccountAsync(MailAddress.Parse(address), ct) ?? throw SealpostException.NotFound($"no account '{DomainName.Printable(address)}'");
            var tenant = (await Dir.ListDomainsAsync(ct)).First(d => d.Id == account.DomainId).TenantId;
            guard.Require(actor, Operation.KeyVersionEndorse, Scope.OfAccount(tenant, account.Id));
            if (endorsement.Kind == EndorsementKind.PreviousVersion)
            {
                throw SealpostException.Invalid("only a requester's or an approver's signature is handed in");
            }

            for (var attempt = 0; ; attempt++)
            {
                var key = (await Dir.ListAccountKeysAsync(account.Id, ct)).FirstOrDefault(k => k.Version == version)
                    ?? throw SealpostException.NotFound($"{account.Address} has no key version {version}");
                var proof = KeyVersionProof.Decode(key.Signature) ?? new KeyVersionProof(KeyVersionProof.NoSigningKey, []);
                var payload = KeyVersionProof.Payload(account.Id, version, key.PublicKey, proof.SigningPublicKey, endorsement.Kind);
                if (!KeyVersionProof.Verify(endorsement.SignerPublicKey, payload, endorsement.Signature))
                {
                    throw SealpostException.Invalid($"the signature is not over {account.Address} key version {version} as stored (fingerprint {Fingerprint(key.PublicKey)})");
                }

                var signer = trust.Chain.Reverse().Select(a => a.Find(endorsement.SignerPublicKey)).FirstOrDefault(p => p is not null)
                    ?? throw new SealpostException(ErrorKind.Forbidden, "the signer is not in the trust anchor");
                if (endorsement.Kind == EndorsementKind.Approver && signer.Role != TrustPerson.Officer)
                {
                    throw new SealpostException(ErrorKind.Forbidden, $"{signer.Name} is not a security officer of the trust anchor: only officers approve");
                }

                var other = proof.Endorsements.FirstOrDefault(e => e.Kind != endorsement.Kind && e.Kind != EndorsementKind.PreviousVersion);
                if (other is not null && other.SignerPublicKey.AsSpan().SequenceEqual(endorsement.SignerPublicKey))
                {
                    throw new SealpostException(ErrorKind.Forbidden, $"{signer.Name} already signed this version as {(other.Kind == EndorsementKind.Requester ? "requester" : "approver")}: two different people endorse a version");
                }

                var updated = proof.With(endorsement).Encode();
                if (await Dir.ReplaceAccountKeyProofAsync(account.Id, version, key.Signature, updated, ct))
                {
                    var view = (await ViewsAsync(account, ct)).First(v => v.Version == version);
                    var role = endorsement.Kind == EndorsementKind.Requester ? "requester" : "approver";
                    return (view, (string?)$"v{version} {view.Fingerprint}; {role} {signer.Name}; now {view.State.ToString().ToLowerInvariant()}");
                }

                if (attempt >= 3)
                {
                    throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the key version kept changing; try again");
                }
            }
        }, ct);

    /// <summary>
    /// Test rigs and --dev: every version not yet endorsed (made before trust anchors) is endorsed by the
    /// local officer pair. Production has no such pair, so this does nothing there.
    /// </summary>
    [Requires(Operation.KeyVersionEndorse)]
    public async Task EndorsePendingLocallyAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.KeyVersionEndorse, Scope.Platform);
        if (!trust.EndorsesLocally)
        {
            return;
        }

        var endorsed = 0;
        foreach (var account in await Dir.ListAccountsAsync(null, ct))
        {
            var ring = await Dir.ListAccountKeysAsync(account.Id, ct);
            foreach (var state in (await trust.CheckAsync(account.Id, ring, ct)).Where(s => s.State == KeyVersionState.Pending))
            {
                var key = ring.First(k => k.Version == state.Version);
                var proof = KeyVersionProof.Decode(key.Signature) ?? new KeyVersionProof(KeyVersionProof.NoSigningKey, []);
                endorsed += await Dir.ReplaceAccountKeyProofAsync(account.Id, key.Version, key.Signature, trust.EndorseLocally(account.Id, key.Version, key.PublicKey, proof).Encode(), ct) ? 1 : 0;
            }
        }

        if (endorsed > 0)
        {
            await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.KeyVersionEndorsed, AnchorTarget, AuditOutcome.Success,
                $"{endorsed} versions made before trust anchors endorsed by the local officer pair (test rig or --dev)"), Audit.AuditDurability.Store);
        }
    }

    /// <summary>A request the server exported and waits for (kept sealed in the keystore until its response is applied).</summary>
    private sealed record PendingRecovery(string Purpose, long AccountId, int HolderVersion, IReadOnlyList<int> Versions, string RequestedBy, DateTimeOffset RequestedAt,
        long HolderAccountId = 0, string? GrantId = null);

    private static string PendingEntry(string id) => "recovery-request/" + id;

    private async Task<(Account Account, long Tenant)> AccountInScopeAsync(Actor actor, Operation operation, string address, CancellationToken ct)
    {
        var account = await Dir.FindAccountAsync(MailAddress.Parse(address), ct) ?? throw SealpostException.NotFound($"no account '{DomainName.Printable(address)}'");
        var tenant = (await Dir.ListDomainsAsync(ct)).First(d => d.Id == account.DomainId).TenantId;
        guard.Require(actor, operation, Scope.OfAccount(tenant, account.Id));
        return (account, tenant);
    }

    /// <summary>
    /// Exports what the officers' offline machine needs to hand an account's lost key versions (those no
    /// credential of it wraps any more: a reset's) back to its newest version: their recovery wraps, the
    /// account's public ring and the trust-anchor chain. Nothing in it opens anything without k shares.
    /// </summary>
    [Requires(Operation.RecoveryRequest)]
    public Task<RecoveryRequest> RequestRestoreAsync(Actor actor, string address, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.RecoveryRequested, address, async () =>
        {
            var (account, _) = await AccountInScopeAsync(actor, Operation.RecoveryRequest, address, ct);
            if (account.State != AccountState.Active)
            {
                throw SealpostException.Conflict($"{account.Address} is {account.State.ToString().ToLowerInvariant()}: its mail is restored only to an active account");
            }

            var credentials = await Dir.ListCredentialsAsync(account.Id, ct);
            var held = credentials.Where(c => c.WrappedKey.Length > 0).Select(c => c.KeyVersion).ToHashSet();
            var (ring, holder) = await EndorsedHolderAsync(account, ct);
            if (!credentials.Any(c => c.KeyVersion == holder.Version && c.Kind != CredentialKind.RecoveredKey))
            {
                throw SealpostException.Conflict($"{account.Address} key version {holder.Version} has no credential yet (enrol or set a password first)");
            }

            var (request, pending) = await ExportAsync(actor, RecoveryPurpose.Restore, account, account, ring, holder, k => k.Version != holder.Version && !held.Contains(k.Version), null, ct);
            if (request.Keys.Count == 0)
            {
                throw SealpostException.Conflict($"nothing to restore: every key version of {account.Address} opens with its own credentials");
            }

            await keystore.PutSecretAsync(PendingEntry(request.Id), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(pending), ct);
            return (request, (string?)$"restore; versions {string.Join(",", pending.Versions)} to version {holder.Version}; request {request.Id}");
        }, ct);

    /// <summary>
    /// Exports the request for an approved access grant: every key version of the mailbox's owner (with
    /// its recovery wrap), to be sealed to the grantee's newest endorsed version, and the grant's terms
    /// with the officers' signed approvals, which the offline machine checks again.
    /// </summary>
    [Requires(Operation.RecoveryRequest)]
    public Task<RecoveryRequest> RequestGrantKeysAsync(Actor actor, string grantId, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.RecoveryRequested, AccessGrantService.Target(grantId), async () =>
        {
            await guard.RequireAsync(actor, Operation.RecoveryRequest, Scope.Platform);
            var (grant, terms) = await grants.ApprovedTermsAsync(grantId, ct);
            var owner = await Dir.GetAccountAsync(grant.TargetAccountId, ct) ?? throw SealpostException.NotFound("the grant's mailbox no longer exists");
            var grantee = await Dir.GetAccountAsync(grant.GranteeAccountId, ct) ?? throw SealpostException.NotFound("the grantee no longer exists");
            var (ring, holder) = await EndorsedHolderAsync(grantee, ct);
            var (request, pending) = await ExportAsync(actor, RecoveryPurpose.Grant, owner, grantee, ring, holder, _ => true, terms, ct);
            if (request.Keys.Count == 0)
            {
                throw SealpostException.Conflict($"{owner.Address} has no key version wrapped to recovery");
            }

            await keystore.PutSecretAsync(PendingEntry(request.Id), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(pending with { GrantId = grant.Id }), ct);
            return (request, (string?)$"grant {grant.Id}; {owner.Address} versions {string.Join(",", pending.Versions)} to {grantee.Address} version {holder.Version}; request {request.Id}");
        }, ct);

    /// <summary>The holder's ring and newest version, which must be endorsed (the officers' machine refuses any other).</summary>
    private async Task<(IReadOnlyList<AccountKey> Ring, AccountKey Holder)> EndorsedHolderAsync(Account holder, CancellationToken ct)
    {
        var ring = await Dir.ListAccountKeysAsync(holder.Id, ct);
        var newest = ring.MaxBy(k => k.Version) ?? throw SealpostException.Conflict($"{holder.Address} has no key");
        var state = (await trust.CheckAsync(holder.Id, ring, ct)).First(s => s.Version == newest.Version);
        if (state.State != KeyVersionState.Endorsed)
        {
            throw SealpostException.Conflict($"{holder.Address} key version {newest.Version} is not endorsed yet ({state.Reason}): the officers' machine would refuse it");
        }

        return (ring, newest);
    }

    /// <summary>A request for the owner's key versions <paramref name="include"/> picks (those with a recovery wrap), sealed to <paramref name="holder"/>; and what the server keeps of it.</summary>
    private async Task<(RecoveryRequest Request, PendingRecovery Pending)> ExportAsync(Actor actor, string purpose, Account owner, Account holderAccount, IReadOnlyList<AccountKey> holderRing,
        AccountKey holder, Func<AccountKey, bool> include, RecoveryGrantTerms? terms, CancellationToken ct)
    {
        var ownerRing = owner.Id == holderAccount.Id ? holderRing : await Dir.ListAccountKeysAsync(owner.Id, ct);
        var wraps = (await Dir.ListRecoveryWrapsAsync(owner.Id, ct)).GroupBy(w => w.KeyVersion).ToDictionary(g => g.Key, g => g.MaxBy(w => w.RecoveryKeyVersion)!);
        var keys = ownerRing.Where(k => include(k) && wraps.ContainsKey(k.Version)).OrderBy(k => k.Version).ToList();
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var now = DateTimeOffset.UtcNow;
        var request = new RecoveryRequest(RecoveryRequest.FormatName, id, purpose, owner.Address.ToString(), owner.Id, actor.Name, now,
            holderAccount.Address.ToString(), holderAccount.Id, holder.Version, holderRing.Select(k => new RecoveryRingEntry(k.Version, k.PublicKey, k.Signature)).ToList(),
            keys.Select(k => new RecoveryKeyEntry(k.Version, k.PublicKey, wraps[k.Version].RecoveryKeyVersion, wraps[k.Version].WrappedKey)).ToList(),
            TrustAnchor.ChainToJson(trust.Chain), terms);
        return (request, new PendingRecovery(purpose, owner.Id, holder.Version, keys.Select(k => k.Version).ToList(), actor.Name, now, holderAccount.Id));
    }

    /// <summary>
    /// Applies the offline machine's response to a pending request: the handed-back versions are stored
    /// sealed to the holder version, which opens them at its owner's next login. A response is applied
    /// once, to the request it names, while the holder version is still the account's newest.
    /// </summary>
    [Requires(Operation.RecoveryApply)]
    public Task<IReadOnlyList<int>> ApplyRecoveryAsync(Actor actor, RecoveryResponse response, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.RecoveryApplied, "recovery " + (response.RequestId.Length <= 64 ? response.RequestId : "?"), async () =>
        {
            await guard.RequireAsync(actor, Operation.RecoveryApply, Scope.Platform);
            if (response.RequestId.Length != 32 || !response.RequestId.All(char.IsAsciiHexDigitLower))
            {
                throw SealpostException.Invalid("the response names no request of this server");
            }

            var sealedPending = await keystore.GetSecretAsync(PendingEntry(response.RequestId), ct);
            PendingRecovery? pending = null;
            try
            {
                pending = sealedPending is null || sealedPending.Length == 0 ? null : System.Text.Json.JsonSerializer.Deserialize<PendingRecovery>(sealedPending);
            }
            catch (System.Text.Json.JsonException)
            {
                pending = null;
            }

            if (pending is null)
            {
                throw SealpostException.NotFound($"no pending recovery request {response.RequestId} (applied already, or made by another server)");
            }

            var holderAccount = pending.Purpose == RecoveryPurpose.Grant ? pending.HolderAccountId : pending.AccountId;
            if (response.AccountId != pending.AccountId || response.HolderAccountId != holderAccount || response.HolderVersion != pending.HolderVersion
                || response.Keys.Count == 0 || response.Keys.Any(k => !pending.Versions.Contains(k.Version)) || response.Keys.Select(k => k.Version).Distinct().Count() != response.Keys.Count)
            {
                throw SealpostException.Invalid($"the response does not answer request {response.RequestId} as it was made");
            }

            if (pending.Purpose == RecoveryPurpose.Grant)
            {
                await grants.ActivateAsync(pending.GrantId!, pending.HolderVersion, response, ct);
                await keystore.PutSecretAsync(PendingEntry(response.RequestId), [], ct);
                IReadOnlyList<int> granted = response.Keys.Select(k => k.Version).Order().ToList();
                return (granted, (string?)$"grant {pending.GrantId}: versions {string.Join(",", granted)} sealed to the grantee's version {pending.HolderVersion}; request {response.RequestId}");
            }

            var account = await Dir.GetAccountAsync(pending.AccountId, ct) ?? throw SealpostException.NotFound("the request's account no longer exists");
            var ring = await Dir.ListAccountKeysAsync(account.Id, ct);
            var credentials = await Dir.ListCredentialsAsync(account.Id, ct);
            if (ring.Max(k => k.Version) != pending.HolderVersion || !credentials.Any(c => c.KeyVersion == pending.HolderVersion && c.Kind != CredentialKind.RecoveredKey))
            {
                throw SealpostException.Conflict($"{account.Address} has a newer key version than when the request was made: export a new request");
            }

            await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id) { AddCredentials = response.Keys.Select(k => RecoveredKeyCredential.For(response, k)).ToList() }, ct);
            await keystore.PutSecretAsync(PendingEntry(response.RequestId), [], ct);
            IReadOnlyList<int> versions = response.Keys.Select(k => k.Version).Order().ToList();
            return (versions, (string?)$"{account.Address}: versions {string.Join(",", versions)} handed back to version {pending.HolderVersion}; request {response.RequestId} (requested by {pending.RequestedBy})");
        }, ct);

    private static string Fingerprint(byte[] publicKey) => SigningSlips.Fingerprint(publicKey);
}
