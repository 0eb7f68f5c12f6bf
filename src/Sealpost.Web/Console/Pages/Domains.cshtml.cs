using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Directory;

namespace Sealpost.Web.Console.Pages;

/// <summary>Departments (tenants) and their mail domains; platform administrators add both. Each domain's page has its DNS records and DKIM key.</summary>
public sealed class DomainsModel(ConsoleText text) : ConsolePage(text)
{
    [BindProperty]
    public string? TenantName { get; set; }

    [BindProperty]
    public string? TenantDisplayName { get; set; }

    [BindProperty]
    public string? DomainName { get; set; }

    [BindProperty]
    public string? DomainTenant { get; set; }

    public IReadOnlyList<Tenant> Tenants { get; private set; } = [];

    public IReadOnlyList<MailDomain> Domains { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAddTenantAsync()
    {
        if (string.IsNullOrWhiteSpace(TenantName))
        {
            ModelState.AddModelError(nameof(TenantName), T["Field.Required"]);
        }
        else if (await TryAsync(() => Api.Directory.AddTenantAsync(Actor, TenantName, TenantDisplayName, HttpContext.RequestAborted), nameof(TenantName)))
        {
            Notice = T["Domains.DepartmentAdded"];
            return Redirect(ConsoleSetup.Prefix + "/domains");
        }

        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostAddDomainAsync()
    {
        if (string.IsNullOrWhiteSpace(DomainName))
        {
            ModelState.AddModelError(nameof(DomainName), T["Field.Required"]);
        }
        else if (await TryAsync(() => Api.Directory.AddDomainAsync(Actor, DomainName.Trim(), DomainTenant ?? "", HttpContext.RequestAborted), nameof(DomainName)))
        {
            Notice = T["Domains.DomainAdded"];
            return Redirect(ConsoleSetup.Prefix + "/domains/" + Uri.EscapeDataString(DomainName.Trim().ToLowerInvariant()));
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Tenants = await Api.Directory.ListTenantsAsync(Actor, HttpContext.RequestAborted);
        Domains = await Api.Directory.ListDomainsAsync(Actor, HttpContext.RequestAborted);
    }
}
