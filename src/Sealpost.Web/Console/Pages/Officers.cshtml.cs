using Sealpost.Core.Directory;
using Sealpost.Domain;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// What waits for the security officers: the trust anchor in force, key versions not endorsed (mail for
/// them is deferred), access grants and where each stands, with the command that takes each one further.
/// Signatures are made with the officer's personal key on their own machine, never in the browser.
/// </summary>
public sealed class OfficersModel(ConsoleText text) : ConsolePage(text)
{
    public int Generation { get; private set; }

    public string PinnedFingerprint { get; private set; } = "";

    public IReadOnlyList<KeyVersionView> Pending { get; private set; } = [];

    public IReadOnlyList<AccessGrantView> Grants { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var chain = await Api.KeyCustody.GetAnchorChainAsync(Actor, HttpContext.RequestAborted);
        (Generation, PinnedFingerprint) = chain.Count == 0 ? (0, "") : (chain[^1].Generation, chain[0].Fingerprint);
        Pending = await Api.KeyCustody.ListKeyVersionsAsync(Actor, null, true, HttpContext.RequestAborted);
        Grants = (await Api.AccessGrants.ListAsync(Actor, HttpContext.RequestAborted))
            .Where(g => g.State is not (AccessGrantState.Revoked or AccessGrantState.Expired)).ToList();
    }
}
