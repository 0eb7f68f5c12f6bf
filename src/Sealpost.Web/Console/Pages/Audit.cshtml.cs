using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Audit;
using Sealpost.Domain.Audit;

namespace Sealpost.Web.Console.Pages;

/// <summary>The audit trail for auditors and officers: search by actor and target, newest first, and verify the chain.</summary>
public sealed class AuditModel(ConsoleText text) : ConsolePage(text)
{
    [FromQuery(Name = "actor")]
    public string? ActorFilter { get; set; }

    [FromQuery(Name = "target")]
    public string? TargetFilter { get; set; }

    public IReadOnlyList<AuditRecord> Records { get; private set; } = [];

    public AuditVerification? Verification { get; private set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task OnPostVerifyAsync()
    {
        Verification = await Api.Audit.VerifyAsync(Actor, [], HttpContext.RequestAborted);
        await LoadAsync();
    }

    private async Task LoadAsync()
    {
        var query = new AuditQuery(Actor: string.IsNullOrWhiteSpace(ActorFilter) ? null : ActorFilter.Trim(), Target: string.IsNullOrWhiteSpace(TargetFilter) ? null : TargetFilter.Trim(), Limit: 10_000);
        Records = (await Api.Audit.SearchAsync(Actor, query, HttpContext.RequestAborted)).OrderByDescending(r => r.Sequence).Take(200).ToList();
    }
}
