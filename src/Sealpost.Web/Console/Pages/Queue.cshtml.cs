using Microsoft.AspNetCore.Mvc;
using Sealpost.Domain.Queue;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// The outbound queue's metadata for operators: states, sizes, attempts and errors (never content or
/// addresses beyond the count), filtered by state and paged; a message held, released or retried now.
/// </summary>
public sealed class QueueModel(ConsoleText text) : ConsolePage(text)
{
    public const int PageSize = 100;

    [FromQuery(Name = "state")]
    public string? StateFilter { get; set; }

    [FromQuery(Name = "page")]
    public int PageNumber { get; set; } = 1;

    [BindProperty]
    public long Id { get; set; }

    [BindProperty]
    public string? Action { get; set; }

    public IReadOnlyList<QueueEntryView> Entries { get; private set; } = [];

    public int Total { get; private set; }

    public DateTimeOffset Now { get; } = DateTimeOffset.UtcNow;

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostAsync()
    {
        var ct = HttpContext.RequestAborted;
        Func<Task>? call = Action switch
        {
            "hold" => () => Api.Queue.HoldAsync(Actor, Id, ct),
            "release" => () => Api.Queue.ReleaseAsync(Actor, Id, ct),
            "retry" => () => Api.Queue.RetryAsync(Actor, Id, ct),
            _ => null,
        };
        if (call is null)
        {
            FormError = T["Queue.UnknownAction"];
        }
        else if (await TryAsync(call))
        {
            Notice = T.Format("Queue.Done." + Action, Id);
            return Redirect(ConsoleSetup.Prefix + "/queue");
        }

        ThrowIfRefused();

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        var all = (await Api.Queue.ListAsync(Actor, HttpContext.RequestAborted))
            .Where(e => string.IsNullOrEmpty(StateFilter) || e.StateName(Now) == StateFilter).ToList();
        Total = all.Count;
        PageNumber = Math.Clamp(PageNumber, 1, Math.Max(1, (Total + PageSize - 1) / PageSize));
        Entries = all.Skip((PageNumber - 1) * PageSize).Take(PageSize).ToList();
    }
}
