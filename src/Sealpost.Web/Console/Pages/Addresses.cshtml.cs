using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// A department's aliases and distribution groups for its administrators: listed (searchable by
/// address), added and removed, group members added and removed. The directory service checks scope
/// and names; a refusal is a message next to the field.
/// </summary>
public sealed class AddressesModel(ConsoleText text) : ConsolePage(text)
{
    [FromQuery(Name = "q")]
    public string? Query { get; set; }

    [BindProperty]
    public string? Alias { get; set; }

    [BindProperty]
    public string? Target { get; set; }

    [BindProperty]
    public string? Group { get; set; }

    [BindProperty]
    public string? GroupName { get; set; }

    [BindProperty]
    public string? Member { get; set; }

    public IReadOnlyList<AddressEntry> Aliases { get; private set; } = [];

    public IReadOnlyList<(DistributionGroup Group, IReadOnlyList<(MailAddress Address, AddressKind? Kind)> Members)> Groups { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public Task<IActionResult> OnPostAddAliasAsync() =>
        ChangeAsync(nameof(Alias), (nameof(Alias), Alias), (nameof(Target), Target), () => Api.Directory.AddAliasAsync(Actor, Alias!.Trim(), Target!.Trim(), HttpContext.RequestAborted), "Addresses.AliasAdded");

    public Task<IActionResult> OnPostRemoveAliasAsync() =>
        ChangeAsync(null, (nameof(Alias), Alias), (nameof(Alias), Alias), () => Api.Directory.RemoveAliasAsync(Actor, Alias!.Trim(), HttpContext.RequestAborted), "Addresses.Removed");

    public Task<IActionResult> OnPostAddGroupAsync() =>
        ChangeAsync(nameof(Group), (nameof(Group), Group), (nameof(Group), Group),
            () => Api.Directory.AddGroupAsync(Actor, Group!.Trim(), string.IsNullOrWhiteSpace(GroupName) ? null : GroupName.Trim(), HttpContext.RequestAborted), "Addresses.GroupAdded");

    public Task<IActionResult> OnPostAddMemberAsync() =>
        ChangeAsync(null, (nameof(Group), Group), (nameof(Member), Member), () => Api.Directory.AddGroupMemberAsync(Actor, Group!.Trim(), Member!.Trim(), HttpContext.RequestAborted), "Addresses.MemberAdded");

    public Task<IActionResult> OnPostRemoveMemberAsync() =>
        ChangeAsync(null, (nameof(Group), Group), (nameof(Member), Member), () => Api.Directory.RemoveGroupMemberAsync(Actor, Group!.Trim(), Member!.Trim(), HttpContext.RequestAborted), "Addresses.Removed");

    /// <summary>Both fields given, the service called; done is a notice and a fresh page, a refusal stays in the form.</summary>
    private async Task<IActionResult> ChangeAsync(string? errorField, (string Name, string? Value) first, (string Name, string? Value) second, Func<Task> call, string done)
    {
        foreach (var (name, value) in new[] { first, second })
        {
            if (string.IsNullOrWhiteSpace(value) && FieldError(name) is null)
            {
                ModelState.AddModelError(name, T["Field.Required"]);
            }
        }

        if (ModelState.IsValid && await TryAsync(call, errorField))
        {
            Notice = T[done];
            return Redirect(ConsoleSetup.Prefix + "/addresses");
        }

        if (errorField is null && FormError is null && !ModelState.IsValid)
        {
            FormError = T["Field.Required"];
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        var q = Query?.Trim();
        bool Matches(MailAddress address) => string.IsNullOrEmpty(q) || address.ToString().Contains(q, StringComparison.OrdinalIgnoreCase);
        Aliases = (await Api.Directory.ListAliasesAsync(Actor, HttpContext.RequestAborted)).Where(a => Matches(a.Address) || (a.AliasTarget is { } t && Matches(t))).ToList();
        Groups = (await Api.Directory.ListGroupsAsync(Actor, null, HttpContext.RequestAborted)).Where(g => Matches(g.Group.Address) || g.Members.Any(m => Matches(m.Address))).ToList();
    }
}
