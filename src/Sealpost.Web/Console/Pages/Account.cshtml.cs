using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Directory;
using Sealpost.Domain;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// One account for its administrators: state and usage (never mail), suspend or activate, and a reset
/// to a new enrolment token (the administrator never knows a password; the new key version waits for two
/// people before mail is sealed to it).
/// </summary>
public sealed class AccountModel(ConsoleText text) : ConsolePage(text)
{
    [FromRoute(Name = "address")]
    public string Address { get; set; } = "";

    [BindProperty]
    public bool Suspend { get; set; }

    public AccountSummary? Summary { get; private set; }

    public string? Token { get; private set; }

    public DateTimeOffset? TokenExpires { get; private set; }

    public async Task OnGetAsync() => Summary = await Api.Directory.GetAccountAsync(Actor, Address, HttpContext.RequestAborted);

    public async Task<IActionResult> OnPostStateAsync()
    {
        if (await TryAsync(() => Api.Directory.SetStateAsync(Actor, Address, Suspend ? AccountState.Suspended : AccountState.Active, HttpContext.RequestAborted)))
        {
            Notice = Suspend ? T["Accounts.Suspended"] : T["Accounts.Activated"];
            return Redirect(ConsoleSetup.Prefix + "/accounts/" + Uri.EscapeDataString(Address));
        }

        return await PageWithSummaryAsync();
    }

    public async Task<IActionResult> OnPostResetAsync()
    {
        await TryAsync(async () => (Token, TokenExpires) = await Api.Directory.ResetForEnrolmentAsync(Actor, Address, HttpContext.RequestAborted));
        return await PageWithSummaryAsync();
    }

    private async Task<IActionResult> PageWithSummaryAsync()
    {
        if (Response.StatusCode == Microsoft.AspNetCore.Http.StatusCodes.Status403Forbidden)
        {
            throw new Sealpost.Core.SealpostException(Sealpost.Core.ErrorKind.Forbidden, FormError ?? "not permitted"); // the console's 403 page
        }

        Summary = await Api.Directory.GetAccountAsync(Actor, Address, HttpContext.RequestAborted);
        return Page();
    }
}
