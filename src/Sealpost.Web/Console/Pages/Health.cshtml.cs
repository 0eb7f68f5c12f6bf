using System.Text.Json;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// For operators: this node's health (the same report as /api/v1/health), its keystore's seal state,
/// when the TLS certificate expires, and the outbound queue's depth and age. State only, never data.
/// </summary>
public sealed class HealthModel(ConsoleText text) : ConsolePage(text)
{
    public string Status { get; private set; } = "";

    public bool Ok => Status == "ok";

    public string Node { get; private set; } = "";

    public string Version { get; private set; } = "";

    public string Store { get; private set; } = "";

    public int Schema { get; private set; }

    public string Mode { get; private set; } = "";

    public string Keystore { get; private set; } = "";

    public string Clock { get; private set; } = "unknown";

    public DateTimeOffset? CertificateExpires { get; private set; }

    public int? CertificateDays => CertificateExpires is { } e ? (int)Math.Floor((e - DateTimeOffset.UtcNow).TotalDays) : null;

    public int QueueDepth { get; private set; }

    public int QueueHeld { get; private set; }

    public long OldestMinutes { get; private set; }

    public IReadOnlyList<Sealpost.Domain.NodeView> Nodes { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var ct = HttpContext.RequestAborted;
        // The queue read is the permission check too: only operators and platform administrators see this page.
        var queue = await Api.Queue.ListAsync(Actor, ct);
        var now = DateTimeOffset.UtcNow;
        (QueueDepth, QueueHeld) = (queue.Count, queue.Count(e => e.StateName(now) == "held"));
        OldestMinutes = queue.Count == 0 ? 0 : (long)(now - queue.Min(e => e.CreatedAt)).TotalMinutes;

        Nodes = await Api.Configuration.ListNodesAsync(Actor, TimeSpan.FromDays(30), ct);
        var json = await HealthReportAsync();
        string Text(string name) => json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        Status = Text("status") is { Length: > 0 } s ? s : "unavailable";
        (Node, Version, Store, Mode, Keystore) = (Text("node"), Text("version"), Text("store"), Text("mode"), Text("keystore"));
        Clock = Text("clock") is "synchronised" or "unsynchronised" ? Text("clock") : "unknown";
        Schema = json.TryGetProperty("schemaVersion", out var schema) && schema.TryGetInt32(out var n) ? n : 0;
        CertificateExpires = json.TryGetProperty("certificateExpires", out var c) && c.ValueKind == JsonValueKind.String && c.TryGetDateTimeOffset(out var at) ? at : null;
    }
}
