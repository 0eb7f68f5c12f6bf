using System.CommandLine;
using System.CommandLine.Parsing;
using Sealpost.Cli.Commands;
using Sealpost.Core;
using Sealpost.Server.Configuration;

namespace Sealpost.Cli;

/// <summary>
/// The <c>sealpost</c> command. The one place that turns failures into output: an expected failure
/// prints one line "error: ..." and exits 1, bad usage exits 2, anything else is a bug and exits 70
/// with one line (never a stack trace: it could carry data, and it helps no operator).
/// </summary>
public static class SealpostCli
{
    public const int Ok = 0, Failed = 1, Usage = 2, Internal = 70;

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken ct = default)
    {
        var root = Build(console);
        ParseResult parse;
        try
        {
            parse = root.Parse(args);
        }
        catch (Exception ex)
        {
            await console.Err.WriteLineAsync("error: cannot parse the command line: " + ex.Message);
            return Usage;
        }

        if (parse.Errors.Count > 0)
        {
            var command = string.Join(' ', parse.CommandResult.Command is RootCommand ? ["sealpost"] : Path(parse.CommandResult));
            // An unknown word explains the rest ("command not provided" follows from it), so it goes first.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            // One line: some parser messages list the allowed values on lines of their own.
            var message = string.Join(' ', error.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            await console.Err.WriteLineAsync($"error: {message} (see '{command} --help')");
            return Usage;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Err,
                EnableDefaultExceptionHandler = false,
            }, ct);
        }
        catch (ConfigurationException ex)
        {
            foreach (var problem in ex.Problems)
            {
                await console.Err.WriteLineAsync("error: configuration: " + problem);
            }

            return Failed;
        }
        catch (SealpostException ex)
        {
            await console.Err.WriteLineAsync("error: " + ex.Message + Cause(ex));
            return Failed;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await console.Err.WriteLineAsync("error: cancelled");
            return Failed;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await console.Err.WriteLineAsync("error: " + ex.Message.Split('\n')[0]);
            return Failed;
        }
        catch (Exception ex)
        {
            await console.Err.WriteLineAsync($"error: internal error ({ex.GetType().Name}); please report it");
            return Internal;
        }
    }

    /// <summary>
    /// Why a temporary failure happened, on the same line: the innermost cause's first line (a
    /// database's "database is locked", a refused connection), so an operator can act on it.
    /// </summary>
    private static string Cause(SealpostException ex)
    {
        if (ex.Kind != ErrorKind.TemporarilyUnavailable || ex.InnerException is null)
        {
            return "";
        }

        var inner = ex.InnerException;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        var text = inner.Message.Split('\n')[0].Trim();
        return text.Length == 0 || ex.Message.Contains(text, StringComparison.Ordinal) ? "" : $" ({text})";
    }

    private static IEnumerable<string> Path(CommandResult result)
    {
        var names = new Stack<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent)
        {
            names.Push(c.Command is RootCommand ? "sealpost" : c.Command.Name);
        }

        return names;
    }

    public static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand("Sealpost: a mail platform that operators run but cannot read.")
        {
            GlobalOptions.Data,
            GlobalOptions.Config,
            GlobalOptions.Set,
            GlobalOptions.Server,
            GlobalOptions.Credentials,
            GlobalOptions.Recovery,
            GlobalOptions.Verbose,
        };
        root.Add(ServeCommands.Init(console));
        root.Add(ServeCommands.Serve(console));
        root.Add(ServeCommands.RecoveryKey(console));
        root.Add(ServeCommands.Tls(console));
        root.Add(UnsealCommands.Unseal(console));
        root.Add(UnsealCommands.Peer(console));
        root.Add(KeyCommands.PersonalKey(console));
        root.Add(KeyCommands.TrustAnchor(console));
        root.Add(KeyCommands.Keys(console));
        root.Add(KeyCommands.SignSlip(console));
        root.Add(RecoveryCommands.Recovery(console));
        root.Add(RecoveryCommands.Grants(console));
        root.Add(ServeCommands.Migrate(console));
        root.Add(Commands.BackupCommands.Backup(console));
        root.Add(Commands.BackupCommands.Restore(console));
        root.Add(DirectoryCommands.Tenant(console));
        root.Add(DirectoryCommands.Domain(console));
        root.Add(UserCommands.User(console));
        root.Add(DirectoryCommands.Alias(console));
        root.Add(DirectoryCommands.Group(console));
        root.Add(AuditCommands.Role(console));
        root.Add(AuditCommands.Audit(console));
        root.Add(QueueCommands.Queue(console));
        root.Add(DkimCommands.Dkim(console));
        root.Add(LoginCommands.Login(console));
        root.Add(LoginCommands.Logout(console));
        root.Add(MeCommands.Me(console));
        root.Add(LoginCommands.Admin(console));
        return root;
    }
}
