using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Audit;

namespace Sealpost.Web.Console.Pages;

/// <summary>The owner's security: where a reset of their password is told (outside the mail system), and their recent sign-ins.</summary>
public sealed class SecurityModel(ConsoleText text) : ConsolePage(text)
{
    [BindProperty]
    public string? NotifyAddress { get; set; }

    public IReadOnlyList<AuditRecord> Logins { get; private set; } = [];

    public async Task OnGetAsync()
    {
        NotifyAddress = Principal!.Account.NotifyAddress;
        await LoadAsync();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (await TryAsync(() => Api.Directory.SetNotifyAddressAsync(Actor, Principal!.Account.Address.ToString(), NotifyAddress ?? "", HttpContext.RequestAborted), nameof(NotifyAddress)))
        {
            Notice = T["Security.Saved"];
            return Redirect(ConsoleSetup.Prefix + "/security");
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync() => Logins = await Api.Audit.OwnLoginsAsync(Actor, 20, HttpContext.RequestAborted);
}
