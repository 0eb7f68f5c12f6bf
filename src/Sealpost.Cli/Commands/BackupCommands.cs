using System.CommandLine;
using Sealpost.Server;

namespace Sealpost.Cli.Commands;

/// <summary>sealpost backup (through the server, or on the data folder) and sealpost restore (offline, into a new folder).</summary>
internal static class BackupCommands
{
    public static Command Backup(CliConsole console)
    {
        var command = new Command("backup",
            "Write a consistent backup of the data folder while the server serves (embedded store; as sealed as the live folder) into BackupDirectory");
        command.SetAction(async (parse, ct) =>
        {
            await using var admin = await new CommandContext(parse, console).OpenAdministrationAsync(ct);
            var made = await admin.BackupAsync(ct);
            await console.Out.WriteLineAsync($"Backup {made.Name}: {made.Files} files, {made.Bytes} octets in {made.Path}.");
            return SealpostCli.Ok;
        });
        return command;
    }

    public static Command Restore(CliConsole console)
    {
        var from = new Argument<string>("backup") { Description = "A backup folder written by 'sealpost backup'" };
        var command = new Command("restore",
            "Make a new data folder (--data, which must not exist or be empty) from a backup, checking every database; then serve it (the officers unseal it as before)") { from };
        command.SetAction(async (parse, ct) =>
        {
            var options = new CommandContext(parse, console).LoadOptions();
            var folder = new DataFolder(options.DataDirectory);
            var restored = await folder.RestoreFromAsync(parse.GetValue(from)!, SealpostRuntime.LocalAdministrator, ct);
            await console.Out.WriteLineAsync($"Restored {restored.Files} files ({restored.Bytes} octets) into {folder.Path}; every database passed its integrity check.");
            return SealpostCli.Ok;
        });
        return command;
    }
}
