using System.Collections.Concurrent;
using System.Net;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Core.Configuration;
using Sealpost.Tests.Support;
using Xunit.Abstractions;

namespace Sealpost.Tests.Server;

/// <summary>
/// A rolling restart: of two nodes on one PostgreSQL, node A gets SIGTERM and is started again while
/// MailKit clients with reconnect logic (on a dropped session, connect to the other node and carry on)
/// run IMAP and SMTP against it. No client operation may fail beyond the one reconnect the drain asks
/// for, and every message that got 250 is stored exactly once.
/// </summary>
public sealed class RollingRestartTests(ITestOutputHelper output)
{
    private static readonly string[] ShortDrain = ["--set", "Limits:ShutdownSeconds=10"];

    private sealed class Counters
    {
        public int Reconnects;
        public int Failures;
        public int Operations;
        public readonly ConcurrentQueue<string> Errors = new();
    }

    [Fact]
    public async Task Restarting_one_of_two_nodes_under_load_fails_no_client_operation_beyond_one_reconnect()
    {
        var connection = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        using var folder = new TempFolder();
        var a = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(folder.Sub("a"), connection, ShortDrain));
        try
        {
            var endpointsA = await TwoNodes.EndpointsAsync(a);
            DataFolders.Copy(folder.Sub("a"), folder.Sub("b"));
            using var b = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(folder.Sub("b"), connection, [.. ShortDrain, "--set", "Audit:Node=node-b"]));
            var endpointsB = await TwoNodes.EndpointsAsync(b);
            var nodes = new[] { endpointsA, endpointsB };

            var acked = new ConcurrentDictionary<string, bool>();
            var smtp = new Counters();
            var imap = new Counters();
            using var stop = new CancellationTokenSource();
            var loads = new List<Task>();
            for (var c = 0; c < 2; c++)
            {
                var client = c;
                loads.Add(Task.Run(() => SmtpLoadAsync(nodes, client, acked, smtp, stop.Token)));
                loads.Add(Task.Run(() => ImapLoadAsync(nodes, client, imap, stop.Token)));
            }

            await Waiting.UntilAsync(() => Volatile.Read(ref smtp.Operations) >= 20 && Volatile.Read(ref imap.Operations) >= 20, "the load did not start");
            a.Terminate();
            Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            a.Dispose();
            a = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(folder.Sub("a"), connection, ShortDrain));
            nodes[0] = await TwoNodes.EndpointsAsync(a);
            var after = Volatile.Read(ref smtp.Operations);
            await Waiting.UntilAsync(() => Volatile.Read(ref smtp.Operations) >= after + 20, "delivery did not go on after the restart");
            await stop.CancelAsync();
            await Task.WhenAll(loads);

            output.WriteLine($"SMTP: {smtp.Operations} messages, {smtp.Reconnects} reconnects, {smtp.Failures} failed; IMAP: {imap.Operations} operations, {imap.Reconnects} reconnects, {imap.Failures} failed");
            Assert.True(smtp.Failures == 0 && imap.Failures == 0, string.Join("\n", smtp.Errors.Concat(imap.Errors)));
            Assert.InRange(smtp.Reconnects, 0, 2);
            Assert.InRange(imap.Reconnects, 0, 2);

            using var reader = await ConnectImapAsync(endpointsB.Imap, "alice");
            await reader.Inbox.OpenAsync(FolderAccess.ReadOnly);
            var stored = (await reader.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope))
                .Select(s => s.Envelope?.MessageId).Where(id => id?.EndsWith("@rolling.test", StringComparison.Ordinal) == true).ToList();
            Assert.Equal(stored.Count, stored.Distinct().Count());
            Assert.Empty(acked.Keys.Except(stored.Select(id => id!.Split('@')[0])));
        }
        finally
        {
            a.Dispose();
        }
    }

    private static async Task<ImapClient> ConnectImapAsync(IPEndPoint endpoint, string user = "bob")
    {
        var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(user + "@example.test", user + "-dev-password");
        return client;
    }

    /// <summary>
    /// A client with reconnect logic: operation <c>n</c> runs on a session kept open; when the session
    /// ends as a drain ends it (<paramref name="dropped"/>), it reconnects to the other node and runs
    /// the same operation again. A failure right after a reconnect, or any other error, is a failed operation.
    /// </summary>
    private static async Task ReconnectingLoadAsync<TSession>(string name, Func<int, Task<TSession>> connect, Func<TSession, int, Task> operate, Func<Exception, bool> dropped,
        Counters counters, CancellationToken ct)
        where TSession : MailService
    {
        var node = 0; // every client starts on node A, the one restarted
        var n = 0;
        TSession? session = null;
        var retrying = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (session is not { IsConnected: true })
                {
                    session?.Dispose();
                    session = await connect(node);
                }

                await operate(session, n);
                n++;
                retrying = false;
                Interlocked.Increment(ref counters.Operations);
            }
            catch (Exception ex) when (dropped(ex) && !retrying)
            {
                retrying = true;
                Interlocked.Increment(ref counters.Reconnects);
                node = 1 - node;
                session?.Dispose();
                session = null;
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref counters.Failures);
                counters.Errors.Enqueue($"{name} operation {n}: {ex.GetType().Name}: {ex.Message}");
                n++;
                retrying = false;
                session?.Dispose();
                session = null;
            }
        }

        if (session is { IsConnected: true })
        {
            await session.DisconnectAsync(true, CancellationToken.None);
        }

        session?.Dispose();
    }

    /// <summary>Sends messages one after another on one session; 421 after a transaction or a reset sends the message again through the other node.</summary>
    private static Task SmtpLoadAsync((IPEndPoint Imap, IPEndPoint Smtp)[] nodes, int client, ConcurrentDictionary<string, bool> acked, Counters counters, CancellationToken ct) =>
        ReconnectingLoadAsync($"smtp {client}",
            async node =>
            {
                var session = new SmtpClient { Timeout = 20_000 };
                await session.ConnectAsync(nodes[node].Smtp.Address.ToString(), nodes[node].Smtp.Port, SecureSocketOptions.None, CancellationToken.None);
                return session;
            },
            async (session, n) =>
            {
                var id = $"c{client}-{n}";
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("load@elsewhere.test"));
                message.To.Add(MailboxAddress.Parse("alice@example.test"));
                message.Subject = "rolling " + id;
                message.MessageId = id + "@rolling.test";
                message.Body = new TextPart("plain") { Text = "message " + id };
                await session.SendAsync(message, CancellationToken.None);
                acked[id] = true;
            },
            ex => ex is SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable } or ServiceNotConnectedException or IOException or SmtpProtocolException or System.Net.Sockets.SocketException,
            counters, ct);

    /// <summary>Keeps the INBOX selected and reads and flags; on BYE or a dropped connection it reconnects to the other node and repeats the operation.</summary>
    private static Task ImapLoadAsync((IPEndPoint Imap, IPEndPoint Smtp)[] nodes, int client, Counters counters, CancellationToken ct) =>
        ReconnectingLoadAsync($"imap {client}",
            async node =>
            {
                var session = await ConnectImapAsync(nodes[node].Imap);
                await session.Inbox.OpenAsync(FolderAccess.ReadWrite, CancellationToken.None);
                return session;
            },
            (session, n) => (n % 3) switch
            {
                0 => session.NoOpAsync(CancellationToken.None),
                1 => session.Inbox.StatusAsync(StatusItems.Count, CancellationToken.None),
                _ => session.Inbox.Count > 0
                    ? session.Inbox.AddFlagsAsync(session.Inbox.Count - 1, client == 0 ? MessageFlags.Seen : MessageFlags.Flagged, true, CancellationToken.None)
                    : Task.CompletedTask,
            },
            ex => ex is ImapProtocolException or ServiceNotConnectedException or IOException or System.Net.Sockets.SocketException,
            counters, ct);
}
