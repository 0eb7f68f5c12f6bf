using Microsoft.AspNetCore.Mvc;
using Sealpost.Domain;

namespace Sealpost.Web.Console.Pages;

/// <summary>Accounts an administrator may see (a department's, or all), a page at a time; a new account for enrolment (its one-time token shown once).</summary>
public sealed class AccountsModel(ConsoleText text) : ConsolePage(text)
{
    private const int PageSize = 50;

    [FromQuery(Name = "after")]
    public string? After { get; set; }

    /// <summary>The start of the addresses wanted (e.g. "ali" or "alice@fin"), matched without case.</summary>
    [FromQuery(Name = "q")]
    public string? Query { get; set; }

    [BindProperty]
    public string? NewAddress { get; set; }

    [BindProperty]
    public string? DisplayName { get; set; }

    public IReadOnlyList<AccountSummary> Accounts { get; private set; } = [];

    public string? Next { get; private set; }

    public string? Token { get; private set; }

    public DateTimeOffset? TokenExpires { get; private set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        if (string.IsNullOrWhiteSpace(NewAddress))
        {
            ModelState.AddModelError(nameof(NewAddress), T["Field.Required"]);
        }
        else
        {
            await TryAsync(async () =>
            {
                var (_, token, expires) = await Api.Directory.AddUserForEnrolmentAsync(Actor, NewAddress.Trim(), string.IsNullOrWhiteSpace(DisplayName) ? null : DisplayName.Trim(), Api.DefaultQuotaBytes, ct: HttpContext.RequestAborted);
                (Token, TokenExpires) = (token, expires);
            }, nameof(NewAddress));
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        // Addresses are kept in order of their folded key: those that start with the query come right
        // after the key just below it, so a search is a page read from there, cut where the prefix ends.
        var prefix = Query?.Trim().ToLowerInvariant() ?? "";
        var after = After ?? (prefix.Length == 0 ? null : prefix[..^1] + (char)(prefix[^1] - 1) + '\uffff');
        var page = (await Api.Directory.ListDirectoryPageAsync(Actor, after, PageSize + 1, HttpContext.RequestAborted)).ToList();
        var matching = page.TakeWhile(a => a.Account.Address.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Accounts = matching.Take(PageSize).ToList();
        Next = matching.Count > PageSize ? Accounts[^1].Account.Address.Key : null;
    }
}
