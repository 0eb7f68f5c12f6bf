using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Security;

namespace Sealpost.Web.Console.Pages;

/// <summary>Accounts (and, for platform administrators, client addresses) locked out after failed logins; an account's lockout lifted.</summary>
public sealed class LockoutsModel(ConsoleText text) : ConsolePage(text)
{
    [BindProperty]
    public string? Subject { get; set; }

    public IReadOnlyList<Lockout> Locked { get; private set; } = [];

    public async Task OnGetAsync() => Locked = await Api.Directory.ListLockoutsAsync(Actor, HttpContext.RequestAborted);

    public async Task<IActionResult> OnPostAsync()
    {
        if (!string.IsNullOrWhiteSpace(Subject) && await TryAsync(() => Api.Directory.UnlockAsync(Actor, Subject.Trim(), HttpContext.RequestAborted)))
        {
            Notice = T["Lockouts.Lifted"];
            return Redirect(ConsoleSetup.Prefix + "/lockouts");
        }

        FormError ??= T["Field.Required"];
        Locked = await Api.Directory.ListLockoutsAsync(Actor, HttpContext.RequestAborted);
        return Page();
    }
}
