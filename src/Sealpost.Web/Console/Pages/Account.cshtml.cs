using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;
using Sealpost.Domain;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// One account for its administrators: state, usage and quota (never mail); its display name and quota
/// edited against the version read (a stale page gets a conflict, not a silent overwrite); suspend or
/// activate; a lockout lifted; a reset to a new enrolment token and role changes, each after the
/// administrator typed their password (and code) again. The administrator never knows a password; the
/// new key version of a reset waits for two people before mail is sealed to it.
/// </summary>
public sealed class AccountModel(ConsoleText text) : ConsolePage(text)
{
    private const long MiB = 1024 * 1024;

    [FromRoute(Name = "address")]
    public string Address { get; set; } = "";

    [BindProperty]
    public bool Suspend { get; set; }

    [BindProperty]
    public int? Version { get; set; }

    [BindProperty]
    public string? DisplayName { get; set; }

    [BindProperty]
    public string? QuotaMiB { get; set; }

    [BindProperty]
    public string? Role { get; set; }

    [BindProperty]
    public bool Grant { get; set; }

    public AccountSummary? Summary { get; private set; }

    public string? Token { get; private set; }

    public DateTimeOffset? TokenExpires { get; private set; }

    /// <summary>Roles are assigned by platform administrators (the matrix says so again when it is tried).</summary>
    public bool MayChangeRoles => Has(Sealpost.Core.Access.Role.PlatformAdmin);

    public IEnumerable<string> GrantableRoles =>
        Enum.GetValues<Role>().Where(r => r is not (Sealpost.Core.Access.Role.System or Sealpost.Core.Access.Role.User)).Select(RoleNames.Of);

    public IEnumerable<string> RolesOf(Account account) =>
        Enum.GetValues<Role>().Where(r => r != Sealpost.Core.Access.Role.System && (account.Roles & RoleNames.Flag(r)) != 0).Select(RoleNames.Of);

    /// <summary>The account's key versions waiting for endorsement (after a reset, the owner's new one).</summary>
    public IReadOnlyList<KeyVersionView> Pending { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostHandInAsync()
    {
        if (await HandInAsync())
        {
            return Redirect(ConsoleSetup.Prefix + "/accounts/" + Uri.EscapeDataString(Address));
        }

        return await PageWithSummaryAsync();
    }

    public async Task<IActionResult> OnPostStateAsync()
    {
        if (await TryAsync(() => Api.Directory.SetStateAsync(Actor, Address, Suspend ? AccountState.Suspended : AccountState.Active, HttpContext.RequestAborted)))
        {
            return Done(Suspend ? T["Accounts.Suspended"] : T["Accounts.Activated"]);
        }

        return await PageWithSummaryAsync();
    }

    public async Task<IActionResult> OnPostEditAsync()
    {
        long? quota = null;
        if (!long.TryParse(QuotaMiB?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var mib) || mib > long.MaxValue / MiB)
        {
            ModelState.AddModelError(nameof(QuotaMiB), T["Accounts.QuotaInvalid"]);
        }
        else
        {
            quota = mib * MiB;
        }

        if (string.IsNullOrWhiteSpace(DisplayName))
        {
            ModelState.AddModelError(nameof(DisplayName), T["Field.Required"]);
        }

        if (ModelState.IsValid && Version is { } version)
        {
            try
            {
                await Api.Directory.UpdateAccountAsync(Actor, Address, DisplayName!.Trim(), quota, version, HttpContext.RequestAborted);
                return Done(T["Accounts.Saved"]);
            }
            catch (SealpostException ex) when (ex.Kind == ErrorKind.Conflict)
            {
                // Someone changed the account since this page was read: say so and show what is there now.
                FormError = T["Accounts.Stale"];
                (DisplayName, QuotaMiB, Version) = (null, null, null);
            }
            catch (SealpostException ex) when (ex.Kind == ErrorKind.InvalidInput)
            {
                ModelState.AddModelError(ex.Message.StartsWith("quota", StringComparison.Ordinal) ? nameof(QuotaMiB) : nameof(DisplayName), ex.Message);
            }
        }

        return await PageWithSummaryAsync();
    }

    public async Task<IActionResult> OnPostUnlockAsync()
    {
        if (await TryAsync(() => Api.Directory.UnlockAsync(Actor, Address, HttpContext.RequestAborted)))
        {
            return Done(T["Lockouts.Lifted"]);
        }

        return await PageWithSummaryAsync();
    }

    public async Task<IActionResult> OnPostResetAsync()
    {
        if (await ConfirmedAsync())
        {
            await TryAsync(async () => (Token, TokenExpires) = await Api.Directory.ResetForEnrolmentAsync(Actor, Address, HttpContext.RequestAborted));
        }

        return await PageWithSummaryAsync();
    }

    public async Task<IActionResult> OnPostRoleAsync()
    {
        var role = Enum.GetValues<Role>().FirstOrDefault(r => RoleNames.Of(r) == Role && r is not (Sealpost.Core.Access.Role.System or Sealpost.Core.Access.Role.User), Sealpost.Core.Access.Role.System);
        if (role == Sealpost.Core.Access.Role.System)
        {
            FormError = T["Accounts.RoleUnknown"];
        }
        else if (await ConfirmedAsync()
            && await TryAsync(() => Grant ? Api.Directory.GrantRoleAsync(Actor, Address, role, HttpContext.RequestAborted) : Api.Directory.RevokeRoleAsync(Actor, Address, role, HttpContext.RequestAborted)))
        {
            return Done(T["Accounts.RoleChanged"]);
        }

        return await PageWithSummaryAsync();
    }

    private RedirectResult Done(string notice)
    {
        Notice = notice;
        return Redirect(ConsoleSetup.Prefix + "/accounts/" + Uri.EscapeDataString(Address));
    }

    private async Task<IActionResult> PageWithSummaryAsync()
    {
        ThrowIfRefused();
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Summary = await Api.Directory.GetAccountAsync(Actor, Address, HttpContext.RequestAborted);
        Pending = (await Api.KeyCustody.ListKeyVersionsAsync(Actor, Address, true, HttpContext.RequestAborted)).Where(v => v.State == Sealpost.Crypto.Vault.KeyVersionState.Pending).ToList();
    }
}
