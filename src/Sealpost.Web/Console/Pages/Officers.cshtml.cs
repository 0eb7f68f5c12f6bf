using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Directory;
using Sealpost.Crypto.Vault;
using Sealpost.Domain;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// What waits for the security officers: the keystore's seal state, the trust anchor in force, key
/// versions refused (an alert: a forged or damaged version) or not endorsed (mail for them is deferred;
/// a reset's new version is one), access grants and where each stands. Each is signed on the officer's
/// own machine from a slip (`sealpost sign`, offline), never in the browser; the signed slip is handed in
/// here after the officer types their password and code again.
/// </summary>
public sealed class OfficersModel(ConsoleText text) : ConsolePage(text)
{
    public string SealState { get; private set; } = "";

    public int Generation { get; private set; }

    public string PinnedFingerprint { get; private set; } = "";

    public IReadOnlyList<KeyVersionView> Pending { get; private set; } = [];

    public IReadOnlyList<KeyVersionView> Refused { get; private set; } = [];

    public IReadOnlyList<AccessGrantView> Grants { get; private set; } = [];

    public string GrantSlip(AccessGrantView g) =>
        SigningSlips.Write(SigningSlips.GrantRequestPrefix, new GrantRequestSlip(g.Id, g.Grantee, g.GranteeAccountId, g.Mailbox, g.TargetAccountId, g.NotBefore, g.ExpiresAt, g.Justification, g.RequestedBy));

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostHandInAsync()
    {
        if (await HandInAsync())
        {
            return Redirect(ConsoleSetup.Prefix + "/officers");
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        var ct = HttpContext.RequestAborted;
        var chain = await Api.KeyCustody.GetAnchorChainAsync(Actor, ct);
        (Generation, PinnedFingerprint) = chain.Count == 0 ? (0, "") : (chain[^1].Generation, chain[0].Fingerprint);
        var waiting = await Api.KeyCustody.ListKeyVersionsAsync(Actor, null, true, ct);
        Pending = waiting.Where(v => v.State == KeyVersionState.Pending).ToList();
        Refused = waiting.Where(v => v.State == KeyVersionState.Refused).ToList();
        Grants = (await Api.AccessGrants.ListAsync(Actor, ct)).Where(g => g.State is not (AccessGrantState.Revoked or AccessGrantState.Expired)).ToList();
        SealState = (await HealthReportAsync()).TryGetProperty("keystore", out var k) ? k.GetString() ?? "" : "";
    }
}
