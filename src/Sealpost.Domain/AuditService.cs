using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Storage;
using Sealpost.Domain.Audit;

namespace Sealpost.Domain;

/// <summary>The audit trail as auditors use it: search, export, the chain heads, and verification. Reading it is itself recorded.</summary>
[DomainService]
public sealed class AuditService(AuditTrail audit, AccessGuard guard, IDirectoryStore directory, Sealpost.Crypto.Vault.KeyTrust? trust = null)
{
    [Requires(Operation.AuditRead)]
    public Task<IReadOnlyList<AuditRecord>> SearchAsync(Actor actor, AuditQuery query, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AuditSearched, null, async () =>
        {
            guard.Require(actor, Operation.AuditRead, Scope.Platform);
            var found = await audit.Store.SearchAsync(query, ct);
            return (found, (string?)$"{found.Count} records");
        }, ct);

    /// <summary>The caller's own recent logins (successes, failures, throttled attempts) over the last 30 days, newest first.</summary>
    [Requires(Operation.OwnCredentialsManage)]
    public async Task<IReadOnlyList<AuditRecord>> OwnLoginsAsync(Actor actor, int limit, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.OwnCredentialsManage, Scope.OfAccount(actor.TenantId ?? -1, actor.AccountId ?? -1));
        var since = DateTimeOffset.UtcNow.AddDays(-30);
        var found = new List<AuditRecord>();
        foreach (var action in new[] { AuditAction.LoginSucceeded, AuditAction.LoginFailed, AuditAction.LoginThrottled })
        {
            found.AddRange(await audit.Store.SearchAsync(new AuditQuery(Actor: actor.Name, Action: action, Since: since, Limit: 5000), ct));
        }

        return found.OrderByDescending(r => r.Sequence).Take(limit).ToList();
    }

    /// <summary>Records of a time range, with the signed head that covers them (made now if needed), so they verify elsewhere.</summary>
    [Requires(Operation.AuditRead)]
    public Task<(IReadOnlyList<AuditRecord> Records, AuditHead Head)> ExportAsync(Actor actor, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AuditExported, null, async () =>
        {
            guard.Require(actor, Operation.AuditRead, Scope.Platform);
            var records = new List<AuditRecord>();
            long after = 0;
            while (true)
            {
                var page = await audit.Store.SearchAsync(new AuditQuery(Since: from, Until: to, AfterSequence: after, Limit: 5000), ct);
                records.AddRange(page);
                if (page.Count < 5000)
                {
                    break;
                }

                after = page[^1].Sequence;
            }

            var head = await HeadAsync(ct);
            return (((IReadOnlyList<AuditRecord>)records, head), (string?)$"{records.Count} records");
        }, ct);

    /// <summary>The current chain head, signed: what auditors keep outside the deployment.</summary>
    [Requires(Operation.AuditRead)]
    public async Task<AuditHead> HeadsAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.AuditRead, Scope.Platform);
        return await HeadAsync(ct);
    }

    /// <summary>The signed head for the server's push to the auditors' collector; null for an empty trail.</summary>
    [Requires(Operation.AuditPublish)]
    public async Task<AuditHead?> PublishHeadAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.AuditPublish, Scope.Platform);
        return await audit.Store.GetHeadAsync(ct) is null ? null : await HeadAsync(ct);
    }

    /// <summary>
    /// Verifies the chain against the stored checkpoints and the given exported heads, then checks
    /// that every stored account public key version has its KeyVersionCreated record.
    /// </summary>
    [Requires(Operation.AuditRead)]
    public Task<AuditVerification> VerifyAsync(Actor actor, IReadOnlyList<AuditHead> heads, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AuditVerified, null, async () =>
        {
            guard.Require(actor, Operation.AuditRead, Scope.Platform);
            var result = await AuditVerifier.VerifyAsync(audit.Store, audit.PublicKey, heads, ct);
            if (result.Ok)
            {
                result = await CheckKeyVersionsAsync(result, ct);
            }

            return (result, (string?)(result.Ok ? "ok" : $"failed at {result.BadSequence}"));
        }, ct);

    /// <summary>
    /// Retention: the records made before <paramref name="before"/> go to an archive that
    /// <paramref name="writeArchive"/> makes durable (records, then the signed boundary head); only
    /// then are they removed from the live trail. The boundary checkpoint stays, so the rest still
    /// verifies, and every archived key version is recorded again so the key check still holds.
    /// A trail that does not verify is not archived.
    /// </summary>
    [Requires(Operation.AuditArchive)]
    public Task<(long Archived, AuditHead Boundary)> ArchiveAsync(Actor actor, DateTimeOffset before, Func<IReadOnlyList<AuditRecord>, AuditHead, Task> writeArchive, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AuditArchived, null, async () =>
        {
            guard.Require(actor, Operation.AuditArchive, Scope.Platform);
            var check = await AuditVerifier.VerifyAsync(audit.Store, audit.PublicKey, [], ct);
            if (!check.Ok)
            {
                throw Core.SealpostException.Conflict($"the audit trail does not verify ({check.Message}); it is not archived");
            }

            var old = new List<AuditRecord>();
            long after = 0;
            while (true)
            {
                var page = await audit.Store.SearchAsync(new AuditQuery(Until: before, AfterSequence: after, Limit: 5000), ct);
                old.AddRange(page);
                if (page.Count < 5000)
                {
                    break;
                }

                after = page[^1].Sequence;
            }

            if (old.Count == 0)
            {
                throw Core.SealpostException.Invalid($"no live record was made before {before:u}");
            }

            // Everything up to the last old record goes, so the live trail stays one unbroken chain.
            var through = old[^1].Sequence;
            var records = new List<AuditRecord>();
            for (var from = (await audit.Store.ReadAsync(1, 1, ct))[0].Sequence; from <= through;)
            {
                var page = await audit.Store.ReadAsync(from, (int)Math.Min(5000, through - from + 1), ct);
                records.AddRange(page);
                from = page.Count == 0 ? through + 1 : page[^1].Sequence + 1;
            }

            var boundary = AuditHead.From(await audit.SignAsync(records[^1], ct));
            await writeArchive(records, boundary);
            await audit.Store.PruneThroughAsync(through, ct);
            foreach (var key in records.Where(r => (r.Event.Action is AuditAction.KeyVersionCreated or AuditAction.TrustAnchorChanged) && r.Event.Outcome == AuditOutcome.Success))
            {
                await audit.RecordAsync(key.Event with { Time = DateTimeOffset.UtcNow, CorrelationId = actor.CorrelationId }, Audit.AuditDurability.Store);
            }

            return (((long)records.Count, boundary), (string?)$"records {records[0].Sequence} to {through}; boundary {boundary.Hash}");
        }, ct);

    private async Task<AuditVerification> CheckKeyVersionsAsync(AuditVerification chain, CancellationToken ct)
    {
        var recorded = new HashSet<(string, string)>();
        long after = 0;
        while (true)
        {
            var page = await audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.KeyVersionCreated, AfterSequence: after, Limit: 5000), ct);
            foreach (var r in page.Where(r => r.Event.Outcome == AuditOutcome.Success && r.Event.Target is not null && r.Event.Detail is not null))
            {
                recorded.Add((r.Event.Target!, r.Event.Detail!));
            }

            if (page.Count < 5000)
            {
                break;
            }

            after = page[^1].Sequence;
        }

        foreach (var account in await directory.ListAccountsAsync(null, ct))
        {
            foreach (var key in await directory.ListAccountKeysAsync(account.Id, ct))
            {
                if (!recorded.Contains((account.Address.ToString(), DirectoryService.KeyVersionDetail(key))))
                {
                    return new AuditVerification(false, chain.Records, null, $"account key version {key.Version} of {account.Address} has no audit record (a key added outside the services)");
                }
            }
        }

        foreach (var key in await directory.ListRecoveryKeysAsync(ct))
        {
            if (!recorded.Contains((ConfigurationService.RecoveryTarget, ConfigurationService.RecoveryKeyDetail(key))))
            {
                return new AuditVerification(false, chain.Records, null, $"recovery key version {key.Version} has no audit record (a key added outside the services)");
            }
        }

        // The officers' trust anchor: every generation in force has its record, and no generation was
        // recorded with two different fingerprints (a substitution appended to the trail).
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        after = 0;
        while (true)
        {
            var page = await audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.TrustAnchorChanged, AfterSequence: after, Limit: 5000), ct);
            foreach (var r in page.Where(r => r.Event.Outcome == AuditOutcome.Success && r.Event.Detail is not null && r.Event.Detail.StartsWith("generation ", StringComparison.Ordinal)))
            {
                anchors.Add(string.Join(' ', r.Event.Detail!.Split(';')[0].Split(' ').Take(3)));
            }

            if (page.Count < 5000)
            {
                break;
            }

            after = page[^1].Sequence;
        }

        foreach (var generation in anchors.GroupBy(a => a.Split(' ')[1]).Where(g => g.Count() > 1))
        {
            return new AuditVerification(false, chain.Records, null, $"trust anchor generation {generation.Key} was recorded with {generation.Count()} different fingerprints");
        }

        foreach (var anchor in trust?.Chain ?? [])
        {
            if (!anchors.Contains($"generation {anchor.Generation} {anchor.Fingerprint}"))
            {
                return new AuditVerification(false, chain.Records, null, $"trust anchor generation {anchor.Generation} {anchor.Fingerprint} has no audit record (an anchor put in place outside the services)");
            }
        }

        return chain with { Message = chain.Message + "; every key version has its record; so has every trust anchor generation" };
    }

    private async Task<AuditHead> HeadAsync(CancellationToken ct)
    {
        var made = await audit.CheckpointAsync(ct);
        if (made is not null)
        {
            return AuditHead.From(made);
        }

        var latest = (await audit.Store.ListCheckpointsAsync(ct)).LastOrDefault()
            ?? throw Core.SealpostException.NotFound("the audit trail is empty");
        return AuditHead.From(latest);
    }
}
