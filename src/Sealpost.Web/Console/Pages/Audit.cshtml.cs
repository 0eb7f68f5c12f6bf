using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Audit;
using Sealpost.Domain.Audit;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// The audit trail for auditors and officers: the signed chain head to keep outside the deployment,
/// verification (against heads kept earlier), search by actor, action, target and dates, newest first a
/// page at a time, and an export of a period as JSON with its head.
/// </summary>
public sealed class AuditModel(ConsoleText text) : ConsolePage(text)
{
    private const int PageSize = 100;

    [FromQuery(Name = "actor")]
    public string? ActorFilter { get; set; }

    [FromQuery(Name = "action")]
    public string? ActionFilter { get; set; }

    [FromQuery(Name = "target")]
    public string? TargetFilter { get; set; }

    [FromQuery(Name = "since")]
    public DateOnly? Since { get; set; }

    [FromQuery(Name = "until")]
    public DateOnly? Until { get; set; }

    [FromQuery(Name = "before")]
    public long? Before { get; set; }

    [BindProperty]
    public string? KeptHeads { get; set; }

    public IReadOnlyList<string> Actions { get; } = Enum.GetNames<AuditAction>().Order(StringComparer.Ordinal).ToList();

    public IReadOnlyList<AuditRecord> Records { get; private set; } = [];

    /// <summary>The sequence number the next (older) page starts below, if there are older records.</summary>
    public long? Older { get; private set; }

    public AuditHead? Head { get; private set; }

    public AuditVerification? Verification { get; private set; }

    public string LinkBefore(long before) =>
        $"/console/audit?actor={Uri.EscapeDataString(ActorFilter ?? "")}&action={Uri.EscapeDataString(ActionFilter ?? "")}&target={Uri.EscapeDataString(TargetFilter ?? "")}"
        + $"&since={Since?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}&until={Until?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}&before={before.ToString(CultureInfo.InvariantCulture)}";

    public async Task OnGetAsync() => await LoadAsync();

    public async Task OnPostVerifyAsync()
    {
        IReadOnlyList<AuditHead> heads = [];
        try
        {
            heads = AuditHead.ParseLines(KeptHeads ?? "");
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            ModelState.AddModelError(nameof(KeptHeads), T["Audit.HeadsInvalid"]);
        }

        if (ModelState.IsValid)
        {
            Verification = await Api.Audit.VerifyAsync(Actor, heads, HttpContext.RequestAborted);
        }

        await LoadAsync();
    }

    /// <summary>The period's records and the head that covers them, as the API's export gives them, for the auditor's own archive.</summary>
    public async Task<IActionResult> OnGetExportAsync()
    {
        var (records, head) = await Api.Audit.ExportAsync(Actor, Start(Since), Start(Until?.AddDays(1)), HttpContext.RequestAborted);
        var body = JsonSerializer.SerializeToUtf8Bytes(new { records = records.Select(Dto.Audit).ToList(), head }, ApiPipeline.Json);
        return File(body, "application/json", $"sealpost-audit-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
    }

    private static DateTimeOffset? Start(DateOnly? day) => day is { } d ? new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;

    private async Task LoadAsync()
    {
        var ct = HttpContext.RequestAborted;
        Head = await Api.Audit.HeadsAsync(Actor, ct);
        AuditAction? action = Enum.TryParse<AuditAction>(ActionFilter, ignoreCase: false, out var a) && Enum.IsDefined(a) ? a : null;
        var query = new AuditQuery(Actor: string.IsNullOrWhiteSpace(ActorFilter) ? null : ActorFilter.Trim(), Action: action,
            Target: string.IsNullOrWhiteSpace(TargetFilter) ? null : TargetFilter.Trim(), Since: Start(Since), Until: Start(Until?.AddDays(1)));

        // Newest first below a sequence number: windows read backwards (the store answers ascending from a
        // sequence number), each twice the last, until a page is full or the start of the trail is reached.
        var upper = Math.Min(Before ?? long.MaxValue, Head.Sequence + 1);
        var found = new List<AuditRecord>();
        long window = PageSize * 4;
        while (found.Count <= PageSize && upper > 1)
        {
            var from = Math.Max(0, upper - window);
            var batch = await Api.Audit.SearchAsync(Actor, query with { AfterSequence = from, Limit = (int)Math.Min(window, 100_000) }, ct);
            found.AddRange(batch.Where(r => r.Sequence < upper).OrderByDescending(r => r.Sequence));
            upper = from + 1;
            window = Math.Min(window * 2, 100_000);
        }

        Records = found.Take(PageSize).ToList();
        Older = found.Count > PageSize ? Records[^1].Sequence : null;
    }
}
