using Microsoft.AspNetCore.Mvc;
using Sealpost.Domain.Administration;

namespace Sealpost.Web.Console.Pages;

/// <summary>App passwords for phones and mail clients: made one at a time (shown once), listed, revoked one by one.</summary>
public sealed class AppPasswordsModel(ConsoleText text) : ConsolePage(text)
{
    [BindProperty]
    public string? Label { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public long Id { get; set; }

    public string? Secret { get; private set; }

    public IReadOnlyList<AppPasswordView> Existing { get; private set; } = [];

    public async Task OnGetAsync() => Existing = await Api.Access.ListAppPasswordsAsync(Principal!, HttpContext.RequestAborted);

    public async Task<IActionResult> OnPostAsync()
    {
        await MakeAsync();
        Existing = await Api.Access.ListAppPasswordsAsync(Principal!, HttpContext.RequestAborted);
        return Page();
    }

    /// <summary>The same app password, handed over as an Apple configuration profile (a download) instead of on the page.</summary>
    public async Task<IActionResult> OnPostMobileConfigAsync()
    {
        if (await MakeAsync())
        {
            var account = Principal!.Account;
            var profile = MobileConfig.For(account.Address.ToString(), account.DisplayName, Api.Hostname, Secret!, Label!.Trim());
            if (Api.ServerCertificate?.Invoke(Api.Hostname) is { HasPrivateKey: true } certificate)
            {
                profile = ClientConfig.Sign(profile, certificate); // the device shows it as verified by the server's certificate
            }

            Secret = null;
            return File(profile, "application/x-apple-aspen-config", "sealpost.mobileconfig");
        }

        Existing = await Api.Access.ListAppPasswordsAsync(Principal!, HttpContext.RequestAborted);
        return Page();
    }

    private async Task<bool> MakeAsync()
    {
        if (string.IsNullOrWhiteSpace(Label))
        {
            ModelState.AddModelError(nameof(Label), T["Field.Required"]);
        }

        if (string.IsNullOrEmpty(Password))
        {
            ModelState.AddModelError(nameof(Password), T["Field.Required"]);
        }

        return ModelState.IsValid
            && await TryAsync(async () => Secret = await Api.Access.CreateAppPasswordAsync(Principal!, Password!, Label!.Trim(), HttpContext.RequestAborted), nameof(Password));
    }

    public async Task<IActionResult> OnPostRevokeAsync()
    {
        if (await TryAsync(() => Api.Access.RevokeAppPasswordAsync(Principal!, Id, HttpContext.RequestAborted)))
        {
            Notice = T["AppPasswords.Revoked"];
            return Redirect(ConsoleSetup.Prefix + "/app-passwords");
        }

        Existing = await Api.Access.ListAppPasswordsAsync(Principal!, HttpContext.RequestAborted);
        return Page();
    }
}
