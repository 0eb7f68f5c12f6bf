using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Domain.Audit;
using Sealpost.Server;
using Spectre.Console;

namespace Sealpost.Cli.Commands;

/// <summary><c>sealpost role</c> and <c>sealpost audit</c>: who may do what, and what was done.</summary>
internal static class AuditCommands
{
    public static Command Role(CliConsole console)
    {
        Command Change(string name, string description, bool grant)
        {
            var address = new Argument<string>("address") { Description = "The account" };
            var role = new Argument<string>("role") { Description = "user, domain-admin, platform-admin, operator, security-officer or auditor" };
            var command = new Command(name, description) { address, role };
            command.SetAction(async (parse, ct) =>
            {
                var parsedRole = RoleNames.Parse(parse.GetValue(role)!);
                await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
                if (grant)
                {
                    await admin.GrantRoleAsync(parse.GetValue(address)!, parsedRole, ct);
                }
                else
                {
                    await admin.RevokeRoleAsync(parse.GetValue(address)!, parsedRole, ct);
                }

                await console.Out.WriteLineAsync($"{(grant ? "Granted" : "Revoked")} {RoleNames.Of(parsedRole)} {(grant ? "to" : "from")} {Core.Addressing.MailAddress.Parse(parse.GetValue(address)!)}.");
                return SealpostCli.Ok;
            });
            return command;
        }

        var list = new Command("list", "Accounts that hold a role beyond user");
        list.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var table = new Table().AddColumns("Account", "Roles");
            foreach (var a in await admin.ListRoleHoldersAsync(ct))
            {
                table.AddRow(Markup.Escape(a.Address), string.Join(", ", a.Roles));
            }

            console.Spectre.Write(table);
            return SealpostCli.Ok;
        });

        return new Command("role", "Grant, revoke and list roles (ARCHITECTURE §4)")
        {
            Change("grant", "Give an account a role", grant: true),
            Change("revoke", "Take a role from an account", grant: false),
            list,
        };
    }

    public static Command Audit(CliConsole console)
    {
        var headsFile = new Option<string?>("--heads") { Description = "File of exported chain heads (one JSON head per line) to check the trail against" };
        var verify = new Command("verify", "Check the audit trail: every record, every signed checkpoint, the given heads, every key version's record") { headsFile };
        verify.SetAction(async (parse, ct) =>
        {
            var heads = parse.GetValue(headsFile) is { } file ? ReadHeads(file) : [];
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            var result = await runtime.AuditService.VerifyAsync(AuditorAtTerminal, heads, ct);
            if (!result.Ok)
            {
                await console.Err.WriteLineAsync($"error: audit trail NOT verified: {result.Message}");
                return SealpostCli.Failed;
            }

            await console.Out.WriteLineAsync($"Audit trail verified: {result.Message}.");
            return SealpostCli.Ok;
        });

        var heads = new Command("heads", "Print the current chain head, signed (one JSON line): keep it outside the deployment");
        heads.SetAction(async (parse, ct) =>
        {
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            var head = await runtime.AuditService.HeadsAsync(AuditorAtTerminal, ct);
            await console.Out.WriteLineAsync(head.ToJsonLine());
            return SealpostCli.Ok;
        });

        var from = new Option<string?>("--from") { Description = "Start time (ISO 8601, UTC if no offset), inclusive" };
        var to = new Option<string?>("--to") { Description = "End time (ISO 8601), exclusive" };
        var export = new Command("export", "Write records as JSON lines, ending with the signed head that covers them") { from, to };
        export.SetAction(async (parse, ct) =>
        {
            var since = ParseTime(parse.GetValue(from), "--from");
            var until = ParseTime(parse.GetValue(to), "--to");
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            var (records, head) = await runtime.AuditService.ExportAsync(AuditorAtTerminal, since, until, ct);
            foreach (var r in records)
            {
                await console.Out.WriteLineAsync(JsonSerializer.Serialize(ToJson(r)));
            }

            await console.Out.WriteLineAsync(JsonSerializer.Serialize(new { head }));
            return SealpostCli.Ok;
        });

        var actor = new Option<string?>("--actor") { Description = "Only this actor (an address, or user@host for the terminal)" };
        var action = new Option<string?>("--action") { Description = "Only this action, e.g. LoginFailed, PasswordReset, RoleGranted" };
        var target = new Option<string?>("--target") { Description = "Only this target (an address or domain)" };
        var since = new Option<string?>("--since") { Description = "Only records at or after this time (ISO 8601)" };
        var limit = new Option<int>("--limit") { Description = "Most records shown", DefaultValueFactory = _ => 200 };
        var search = new Command("search", "Find records: one line each, tab-separated (sequence, time, actor, role, from, protocol, action, target, outcome, detail)") { actor, action, target, since, limit };
        search.SetAction(async (parse, ct) =>
        {
            AuditAction? parsedAction = parse.GetValue(action) is { } a
                ? Enum.TryParse<AuditAction>(a, ignoreCase: true, out var x) && Enum.IsDefined(x) ? x : throw SealpostException.Invalid($"'{Core.Addressing.DomainName.Printable(a)}' is not an audit action ({string.Join(", ", Enum.GetNames<AuditAction>())})")
                : null;
            if (parse.GetValue(limit) is < 1 or > 100_000)
            {
                throw SealpostException.Invalid("--limit must be between 1 and 100000");
            }

            var query = new AuditQuery(parse.GetValue(actor), parsedAction, parse.GetValue(target), ParseTime(parse.GetValue(since), "--since"), Limit: parse.GetValue(limit));
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            var found = await runtime.AuditService.SearchAsync(AuditorAtTerminal, query, ct);
            // One line per record (a nine-column table wraps on any terminal): scriptable and greppable.
            foreach (var r in found)
            {
                var e = r.Event;
                await console.Out.WriteLineAsync(string.Join('\t',
                    r.Sequence.ToString(CultureInfo.InvariantCulture), e.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                    e.Actor, e.Role, e.Source ?? "-", e.Protocol, e.Action.ToString(), e.Target ?? "-", e.Outcome.ToString(), e.Detail ?? "-"));
            }

            return SealpostCli.Ok;
        });

        var archiveBefore = new Option<string>("--before") { Description = "Archive the records made before this time (ISO 8601)", Required = true };
        var archiveOut = new Option<string>("--out") { Description = "Archive file to write (JSON lines ending with the signed boundary head); must not exist", Required = true };
        var archive = new Command("archive", "Move old records into an archive file behind a signed boundary (retention); the rest still verifies") { archiveBefore, archiveOut };
        archive.SetAction(async (parse, ct) =>
        {
            var before = ParseTime(parse.GetValue(archiveBefore), "--before")!.Value;
            var path = parse.GetValue(archiveOut)!;
            if (File.Exists(path))
            {
                throw SealpostException.Conflict($"'{path}' exists; archives are never overwritten");
            }

            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            var (count, boundary) = await runtime.AuditService.ArchiveAsync(SealpostRuntime.LocalAdministrator, before, async (records, head) =>
            {
                await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
                await using (var writer = new StreamWriter(file, leaveOpen: true))
                {
                    foreach (var r in records)
                    {
                        await writer.WriteLineAsync(JsonSerializer.Serialize(ToJson(r)));
                    }

                    await writer.WriteLineAsync(JsonSerializer.Serialize(new { head }));
                }

                file.Flush(flushToDisk: true); // durable before the records leave the live trail
            }, ct);
            await console.Out.WriteLineAsync($"Archived {count} records to {path}; boundary at record {boundary.Sequence}.");
            return SealpostCli.Ok;
        });

        return new Command("audit", "Read and verify the audit trail") { verify, heads, export, search, archive };
    }

    /// <summary>The terminal user reading the trail, recorded as an auditor.</summary>
    private static Actor AuditorAtTerminal => SealpostRuntime.LocalAdministrator with { Roles = new HashSet<Role> { Core.Access.Role.Auditor } };

    private static IReadOnlyList<AuditHead> ReadHeads(string file)
    {
        try
        {
            return AuditHead.ParseLines(File.ReadAllText(file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw SealpostException.NotFound($"cannot read heads file '{file}': {ex.Message}");
        }
        catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException)
        {
            throw SealpostException.Invalid($"'{file}' is not a heads file (one JSON head per line, as 'sealpost audit heads' prints)");
        }
    }

    private static DateTimeOffset? ParseTime(string? text, string option) =>
        text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
        : throw SealpostException.Invalid($"{option}: '{Core.Addressing.DomainName.Printable(text)}' is not a time (e.g. 2026-12-01T00:00:00Z)");

    private static object ToJson(AuditRecord r) => new
    {
        seq = r.Sequence,
        time = r.Event.Time,
        node = r.Node,
        actor = r.Event.Actor,
        role = r.Event.Role,
        source = r.Event.Source,
        protocol = r.Event.Protocol,
        action = r.Event.Action.ToString(),
        target = r.Event.Target,
        outcome = r.Event.Outcome.ToString(),
        detail = r.Event.Detail,
        correlation = r.Event.CorrelationId,
        prev = Convert.ToHexString(r.PreviousHash),
        hash = Convert.ToHexString(r.Hash),
    };
}
