using System.Net;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Sealpost.Core.Configuration;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// Sessions follow credentials across nodes: two <c>sealpost serve</c> processes on one PostgreSQL; an
/// IMAP session idling on node B is ended when the account is suspended or reset by a command run
/// against node A's data folder (another process), through the store's change feed.
/// </summary>
public sealed class TwoNodeSessionTests
{
    private static async Task<IPEndPoint> ImapAsync(ChildProcess node)
    {
        var line = await node.WaitForLineAsync(l => l.TrimStart().StartsWith("IMAPS ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await node.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return IPEndPoint.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    private static async Task OfflineAsync(string data, string connection, string stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Sealpost.Cli.SealpostCli.RunAsync(
            [.. args, "--data", data, "--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + connection, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile],
            new Sealpost.Cli.CliConsole(new StringReader(stdin), output, error, inputIsTerminal: false));
        Assert.True(exit == 0, $"sealpost {string.Join(' ', args)} exited {exit}: {error}");
    }

    [Theory]
    [InlineData("suspension")]
    [InlineData("reset")]
    public async Task A_change_made_through_node_a_ends_an_idle_session_on_node_b(string change)
    {
        var connection = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        using var folder = new TempFolder();
        using var a = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(folder.Sub("a"), connection));
        await ImapAsync(a);
        DataFolders.Copy(folder.Sub("a"), folder.Sub("b"));
        using var b = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(folder.Sub("b"), connection, "--set", "Audit:Node=node-b"));
        var imapB = await ImapAsync(b);

        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync(imapB.Address.ToString(), imapB.Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        using var done = new CancellationTokenSource();
        var idle = client.IdleAsync(done.Token);

        if (change == "suspension")
        {
            await OfflineAsync(folder.Sub("a"), connection, "", "user", "suspend", "alice@example.test");
        }
        else
        {
            await OfflineAsync(folder.Sub("a"), connection, "a reset passphrase for alice\n", "user", "passwd", "--reset", "alice@example.test");
        }

        var ended = await Task.WhenAny(idle, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(ended == idle, "the idle session on node B was not ended");
        await Assert.ThrowsAnyAsync<Exception>(() => idle);
        Assert.False(client.IsConnected);
    }
}
