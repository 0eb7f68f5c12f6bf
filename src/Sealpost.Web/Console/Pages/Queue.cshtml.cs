using Sealpost.Domain.Queue;

namespace Sealpost.Web.Console.Pages;

/// <summary>The outbound queue's metadata for operators: states, sizes, attempts, errors; never an address book of content.</summary>
public sealed class QueueModel(ConsoleText text) : ConsolePage(text)
{
    public IReadOnlyList<QueueEntryView> Entries { get; private set; } = [];

    public DateTimeOffset Now { get; } = DateTimeOffset.UtcNow;

    public async Task OnGetAsync() => Entries = await Api.Queue.ListAsync(Actor, HttpContext.RequestAborted);
}
