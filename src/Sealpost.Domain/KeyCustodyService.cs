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
public sealed class KeyCustodyService(ISealpostStore store, KeyTrust trust, AccessGuard guard)
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

    private static string Fingerprint(byte[] publicKey) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(publicKey));
}
