using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Storage;
using Sealpost.Domain.Audit;

namespace Sealpost.Domain;

/// <summary>The audit trail as auditors use it: search, export, the chain heads, and verification. Reading it is itself recorded.</summary>
[DomainService]
public sealed class AuditService(AuditTrail audit, AccessGuard guard, IDirectoryStore directory)
{
    [Requires(Operation.AuditRead)]
    public Task<IReadOnlyList<AuditRecord>> SearchAsync(Actor actor, AuditQuery query, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AuditSearched, null, async () =>
        {
            guard.Require(actor, Operation.AuditRead, Scope.Platform);
            var found = await audit.Store.SearchAsync(query, ct);
            return (found, (string?)$"{found.Count} records");
        }, ct);

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
                    return new AuditVerification(false, chain.Records, null, $"key version {key.Version} of {account.Address} has no audit record (a key added outside the services)");
                }
            }
        }

        return chain with { Message = chain.Message + "; every key version has its record" };
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
