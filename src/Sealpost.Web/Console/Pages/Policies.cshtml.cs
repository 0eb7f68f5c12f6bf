using Sealpost.Domain;

namespace Sealpost.Web.Console.Pages;

/// <summary>The policies in force (lockouts, sessions, retention, quotas, sending limits, TLS), read-only: they live in the configuration file, whose changes the audit trail records.</summary>
public sealed class PoliciesModel(ConsoleText text) : ConsolePage(text)
{
    public IReadOnlyList<PolicyView> Policies { get; private set; } = [];

    public async Task OnGetAsync() =>
        Policies = await Api.Configuration.ListPoliciesAsync(Actor, Api.Options ?? new Sealpost.Core.Configuration.SealpostOptions(), HttpContext.RequestAborted);
}
