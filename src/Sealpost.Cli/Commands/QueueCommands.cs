using System.CommandLine;
using System.Globalization;

namespace Sealpost.Cli.Commands;

/// <summary>
/// <c>sealpost queue</c>: the outbound queue as operators see it (envelopes, sizes, states, each
/// recipient's last reply and the TLS used; never a subject or content), and hold, release, retry
/// and delete, each through the permission matrix and audited: through the server's API when signed
/// in, or offline on a --dev folder (or with --recovery).
/// </summary>
internal static class QueueCommands
{
    public static Command Queue(CliConsole console)
    {
        var list = new Command("list", "Queued messages, as mailq prints them: id, state, size, attempts, next attempt, sender; then each recipient with its state and last reply");
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var entries = await admin.ListQueueAsync(ct);
            var text = new System.Text.StringBuilder();
            foreach (var e in entries)
            {
                text.Append(CultureInfo.InvariantCulture,
                    $"{e.Id,-8} {e.State,-8} {e.Size,10} octets  attempts {e.Attempts,-3} next {e.NextAttemptAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z  <{e.ReturnPath}>\n");
                foreach (var r in e.Recipients)
                {
                    text.Append(CultureInfo.InvariantCulture, $"         {r.Address} ({r.State}){(r.LastReply is null ? "" : ": " + r.LastReply)}\n");
                }
            }

            text.Append(CultureInfo.InvariantCulture, $"{entries.Count} message(s) queued.\n");
            await console.Out.WriteAsync(text.ToString());
            return SealpostCli.Ok;
        });

        var showId = IdArgument();
        var show = new Command("show", "One queued message: its envelope and each recipient's state, last reply, host and TLS") { showId };
        show.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var e = await admin.ShowQueuedAsync(parse.GetValue(showId), ct);
            var text = new System.Text.StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"Id:           {e.Id}\n");
            text.Append(CultureInfo.InvariantCulture, $"State:        {e.State}\n");
            text.Append(CultureInfo.InvariantCulture, $"From:         {(e.ReturnPath.Length == 0 ? "<>" : e.ReturnPath)}\n");
            text.Append(CultureInfo.InvariantCulture, $"Size:         {e.Size} octets\n");
            text.Append(CultureInfo.InvariantCulture, $"Queued:       {e.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC\n");
            text.Append(CultureInfo.InvariantCulture, $"Attempts:     {e.Attempts}\n");
            text.Append(CultureInfo.InvariantCulture, $"Next attempt: {e.NextAttemptAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC\n");
            foreach (var r in e.Recipients)
            {
                text.Append(CultureInfo.InvariantCulture, $"To:           {r.Address} {r.State}");
                text.Append(r.LastReply is null ? "" : $"; last reply: {r.LastReply}");
                text.Append(r.Host is null ? "" : $"; host: {r.Host}");
                text.Append(r.Host is null ? "" : $"; TLS: {r.Tls ?? "none"}");
                text.Append('\n');
            }

            await console.Out.WriteAsync(text.ToString());
            return SealpostCli.Ok;
        });

        return new Command("queue", "The outbound queue: metadata, never content")
        {
            list,
            show,
            Change("retry", "Attempt the message at once (releasing it if held)", QueueAction.Retry, "will be attempted at once"),
            Change("hold", "Keep the message from being attempted until released", QueueAction.Hold, "is held"),
            Change("release", "Let a held message be attempted again", QueueAction.Release, "is released"),
            Change("delete", "Remove the message without delivering or bouncing it", QueueAction.Delete, "is deleted"),
        };

        Command Change(string name, string description, QueueAction action, string done)
        {
            var id = IdArgument();
            var command = new Command(name, description) { id };
            command.SetAction(async (parse, ct) =>
            {
                await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
                await admin.ChangeQueuedAsync(parse.GetValue(id), action, ct);
                await console.Out.WriteLineAsync($"Queued message {parse.GetValue(id).ToString(CultureInfo.InvariantCulture)} {done}.");
                return SealpostCli.Ok;
            });
            return command;
        }
    }

    private static Argument<long> IdArgument() => new("id") { Description = "The queued message's id (from 'sealpost queue list')" };
}
