using Microsoft.AspNetCore.Mvc;
using Sealpost.Core;
using Sealpost.Domain;

namespace Sealpost.Web.Console.Pages;

/// <summary>One domain for platform administrators: the DNS records it needs (with its DKIM key in force) and the DKIM key made or rotated.</summary>
public sealed class DomainModel(ConsoleText text) : ConsolePage(text)
{
    [FromRoute(Name = "name")]
    public string Name { get; set; } = "";

    [BindProperty]
    public string? Algorithm { get; set; }

    [BindProperty]
    public string? Selector { get; set; }

    public DkimKeys? Dkim { get; private set; }

    public IReadOnlyList<DomainRecord> Records { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        await LoadAsync();
        var selector = string.IsNullOrWhiteSpace(Selector) ? null : Selector.Trim();
        var algorithm = Algorithm ?? "rsa";
        if (await TryAsync(async () => _ = Dkim is null
                ? await Api.Dkim.CreateAsync(Actor, Name, algorithm, selector, HttpContext.RequestAborted)
                : await Api.Dkim.RotateAsync(Actor, Name, algorithm, selector, HttpContext.RequestAborted), nameof(Selector)))
        {
            Notice = T["Domain.DkimDone"];
            return Redirect(ConsoleSetup.Prefix + "/domains/" + Uri.EscapeDataString(Name));
        }

        return Page();
    }

    private async Task LoadAsync()
    {
        // The domain must be one the reader may see (404 otherwise); its key, if it has one.
        var domain = (await Api.Directory.ListDomainsAsync(Actor, HttpContext.RequestAborted)).FirstOrDefault(d => string.Equals(d.Name.ToString(), Name.Trim().TrimEnd('.'), StringComparison.OrdinalIgnoreCase))
            ?? throw SealpostException.NotFound($"no domain '{Sealpost.Core.Addressing.DomainName.Printable(Name)}'");
        Name = domain.Name.ToString();
        // DKIM keys are the platform administrators' (the matrix); a department's administrator sees the records without the key.
        try
        {
            Dkim = !Has(Sealpost.Core.Access.Role.PlatformAdmin) ? null : await Api.Dkim.ShowAsync(Actor, Name, HttpContext.RequestAborted);
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.NotFound)
        {
            Dkim = null;
        }

        Records = await Api.Dkim.RecordsAsync(Actor, Name, Api.Hostname, HttpContext.RequestAborted);
    }
}
