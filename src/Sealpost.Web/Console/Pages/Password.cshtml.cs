using Microsoft.AspNetCore.Mvc;

namespace Sealpost.Web.Console.Pages;

/// <summary>The owner changes their password (the current one proves it); every sign-in session ends, so they sign in again.</summary>
public sealed class PasswordModel(ConsoleText text) : ConsolePage(text)
{
    [BindProperty]
    public string? Current { get; set; }

    [BindProperty]
    public string? New { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (string.IsNullOrEmpty(Current))
        {
            ModelState.AddModelError(nameof(Current), T["Field.Required"]);
        }

        if (string.IsNullOrEmpty(New))
        {
            ModelState.AddModelError(nameof(New), T["Field.Required"]);
        }

        if (!ModelState.IsValid || !await TryAsync(() => Api.Access.ChangeOwnPasswordAsync(Principal!, Current!, New!, HttpContext.RequestAborted), nameof(New)))
        {
            return Page();
        }

        Notice = T["Password.Changed"];
        return Redirect(ConsoleSetup.Prefix + "/sign-in");
    }
}
