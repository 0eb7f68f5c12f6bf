using System.Diagnostics;
using System.Net;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Search;
using MailKit.Security;
using MimeKit;
using Sealpost.Core.Configuration;
using Sealpost.Tests.Support;
using Xunit.Abstractions;

namespace Sealpost.Tests.Server;

/// <summary>Two <c>sealpost serve</c> processes on one PostgreSQL database, node B a copy of node A's data folder.</summary>
public sealed class TwoNodes : IAsyncLifetime
{
    private readonly TempFolder _folder = new();

    public string Connection { get; private set; } = "";

    public ChildProcess A { get; private set; } = null!;

    public ChildProcess B { get; private set; } = null!;

    public (IPEndPoint Imap, IPEndPoint Smtp) EndpointsA { get; private set; }

    public (IPEndPoint Imap, IPEndPoint Smtp) EndpointsB { get; private set; }

    public string FolderA => _folder.Sub("a");

    /// <summary>The arguments of one node of a test's cluster: --dev on loopback, the cheap hashing profile, the shared database.</summary>
    public static string[] NodeArgs(string data, string connection, params string[] extra) =>
    [
        "serve", "--dev", "--data", data, .. TestOptions.LoopbackListeners, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile,
        "--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + connection, .. extra,
    ];

    /// <summary>Once the node says Ready: its implicit-TLS IMAP and inbound SMTP addresses, from what it printed last.</summary>
    public static async Task<(IPEndPoint Imap, IPEndPoint Smtp)> EndpointsAsync(ChildProcess node)
    {
        await node.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        IPEndPoint Find(string label) => IPEndPoint.Parse(node.Lines.Last(l => l.TrimStart().StartsWith(label, StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[label.Trim().Split(' ').Length]);
        return (Find("IMAPS "), Find("SMTP in "));
    }

    public async Task InitializeAsync()
    {
        Connection = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        A = ChildProcess.Start("sealpost", NodeArgs(FolderA, Connection));
        EndpointsA = await EndpointsAsync(A);
        DataFolders.Copy(FolderA, _folder.Sub("b"));
        B = ChildProcess.Start("sealpost", NodeArgs(_folder.Sub("b"), Connection, "--set", "Audit:Node=node-b"));
        EndpointsB = await EndpointsAsync(B);
    }

    /// <summary>A sealpost command run against node A's data folder (the same database), in this process.</summary>
    public async Task OfflineAsync(string stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Sealpost.Cli.SealpostCli.RunAsync(
            [.. args, "--data", FolderA, "--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + Connection, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile],
            new Sealpost.Cli.CliConsole(new StringReader(stdin), output, error, inputIsTerminal: false));
        Assert.True(exit == 0, $"sealpost {string.Join(' ', args)} exited {exit}: {error}");
    }

    public static async Task<ImapClient> ImapAsync(IPEndPoint endpoint, string user, string password, IPEndPoint? from = null)
    {
        var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        if (from is not null)
        {
            client.LocalEndPoint = from;
        }

        await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(user, password);
        return client;
    }

    public Task DisposeAsync()
    {
        A.Dispose();
        B.Dispose();
        _folder.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Two nodes serve one organisation: one mailbox written through both gets one UID sequence; a session
/// on one node hears of changes made through the other; a lockout counted on one holds on the other.
/// </summary>
public sealed class TwoNodeMailTests(TwoNodes nodes, ITestOutputHelper output) : IClassFixture<TwoNodes>
{
    private static MimeMessage Message(string to, string id)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@elsewhere.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = "two nodes " + id;
        message.MessageId = id + "@two-nodes.test";
        message.Body = new TextPart("plain") { Text = "from " + id };
        return message;
    }

    private static async Task SendAsync(IPEndPoint smtp, string to, IEnumerable<string> ids)
    {
        using var client = new SmtpClient();
        await client.ConnectAsync(smtp.Address.ToString(), smtp.Port, SecureSocketOptions.None);
        foreach (var id in ids)
        {
            await client.SendAsync(Message(to, id));
        }

        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Deliveries_through_both_nodes_into_one_mailbox_get_unique_uids_increasing_in_each_senders_order()
    {
        const int each = 25;
        var fromA = Enumerable.Range(0, each).Select(i => $"a{i:D2}").ToList();
        var fromB = Enumerable.Range(0, each).Select(i => $"b{i:D2}").ToList();
        await Task.WhenAll(SendAsync(nodes.EndpointsA.Smtp, "bob@example.test", fromA), SendAsync(nodes.EndpointsB.Smtp, "bob@example.test", fromB));

        using var client = await TwoNodes.ImapAsync(nodes.EndpointsA.Imap, "bob@example.test", "bob-dev-password");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var summaries = await client.Inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Envelope);
        var byId = summaries.Where(s => s.Envelope?.MessageId?.EndsWith("@two-nodes.test", StringComparison.Ordinal) == true)
            .ToDictionary(s => s.Envelope!.MessageId!.Split('@')[0], s => s.UniqueId.Id);
        Assert.Equal(2 * each, byId.Count);
        Assert.Equal(byId.Count, byId.Values.Distinct().Count());
        foreach (var sent in new[] { fromA, fromB })
        {
            var uids = sent.Select(id => byId[id]).ToList();
            Assert.Equal(uids.Order(), uids);
        }

        Assert.True(client.Inbox.UidNext!.Value.Id > byId.Values.Max());
    }

    public static TheoryData<string> Changes => new() { "delivery", "flag change", "expunge" };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task A_session_idling_on_node_b_hears_of_a_change_made_through_node_a(string change)
    {
        var folder = "idle-" + change.Replace(' ', '-');
        using var onA = await TwoNodes.ImapAsync(nodes.EndpointsA.Imap, "alice@example.test", "alice-dev-password");
        var mailbox = change == "delivery" ? onA.Inbox : (await onA.GetFolder(onA.PersonalNamespaces[0]).CreateAsync(folder, true))!;
        UniqueId? uid = null;
        if (change != "delivery")
        {
            uid = await mailbox.AppendAsync(Message("alice@example.test", folder));
            await mailbox.OpenAsync(FolderAccess.ReadWrite);
        }

        using var onB = await TwoNodes.ImapAsync(nodes.EndpointsB.Imap, "alice@example.test", "alice-dev-password");
        var watched = change == "delivery" ? onB.Inbox : await onB.GetFolderAsync(folder);
        await watched.OpenAsync(FolderAccess.ReadOnly);
        var heard = new TaskCompletionSource<Stopwatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = new Stopwatch();
        switch (change)
        {
            case "delivery":
                watched.CountChanged += (_, _) => heard.TrySetResult(clock);
                break;
            case "flag change":
                watched.MessageFlagsChanged += (_, _) => heard.TrySetResult(clock);
                break;
            default:
                watched.MessageExpunged += (_, _) => heard.TrySetResult(clock);
                break;
        }

        using var done = new CancellationTokenSource();
        var idle = onB.IdleAsync(done.Token);
        // The IDLE is under way once the server's continuation is in: give the command a moment to reach it.
        await WaitUntilIdlingAsync(onB);

        clock.Start();
        switch (change)
        {
            case "delivery":
                await SendAsync(nodes.EndpointsA.Smtp, "alice@example.test", ["idle-delivery"]);
                break;
            case "flag change":
                await mailbox.AddFlagsAsync(uid!.Value, MessageFlags.Flagged, true);
                break;
            default:
                await mailbox.AddFlagsAsync(uid!.Value, MessageFlags.Deleted, true);
                await mailbox.ExpungeAsync();
                break;
        }

        var first = await Task.WhenAny(heard.Task, Task.Delay(TimeSpan.FromSeconds(15)));
        done.Cancel();
        await idle;
        Assert.True(first == heard.Task, $"node B's IDLE did not hear of the {change} made through node A");
        // A figure, not a threshold: from the change's first command on node A to node B's client hearing of it.
        output.WriteLine($"{change}: node B's client heard {clock.Elapsed.TotalMilliseconds:F0} ms after the change began on node A");
    }

    private static async Task WaitUntilIdlingAsync(ImapClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!client.IsIdle && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(client.IsIdle, "the client did not enter IDLE");
    }

    [Fact]
    public async Task A_lockout_counted_on_node_a_holds_on_node_b()
    {
        await nodes.OfflineAsync("carol pass phrase\n", "user", "add", "carol@example.test");
        // From an address of its own, so no other test's logins are counted with these.
        var from = new IPEndPoint(IPAddress.Parse("127.0.0.77"), 0);
        for (var failed = 0; failed < 10;)
        {
            var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true, LocalEndPoint = from };
            await client.ConnectAsync(nodes.EndpointsA.Imap.Address.ToString(), nodes.EndpointsA.Imap.Port, SecureSocketOptions.SslOnConnect);
            while (client.IsConnected && failed < 10)
            {
                try
                {
                    await client.AuthenticateAsync("carol@example.test", "not carol's pass phrase");
                }
                catch (AuthenticationException)
                {
                    failed++;
                }
                catch (Exception ex) when (ex is IOException or ImapProtocolException or ServiceNotConnectedException)
                {
                    break;
                }
            }

            client.Dispose();
        }

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() =>
            TwoNodes.ImapAsync(nodes.EndpointsB.Imap, "carol@example.test", "carol pass phrase", from));
        Assert.Contains("Too many failed logins", refused.Message);
    }

    [Fact]
    public async Task Messages_a_node_accepted_are_read_through_the_other()
    {
        await SendAsync(nodes.EndpointsB.Smtp, "alice@example.test", ["read-across"]);
        using var client = await TwoNodes.ImapAsync(nodes.EndpointsA.Imap, "alice@example.test", "alice-dev-password");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var found = await client.Inbox.SearchAsync(SearchQuery.HeaderContains("Message-ID", "read-across@two-nodes.test"));
        var uid = Assert.Single(found);
        var message = await client.Inbox.GetMessageAsync(uid);
        Assert.Equal("from read-across", message.TextBody?.Trim());
    }
}

/// <summary>A node's loss costs only its own connections: the other node's sessions and listeners go on.</summary>
public sealed class TwoNodeLossTests(TwoNodes nodes) : IClassFixture<TwoNodes>
{
    [Fact]
    public async Task Killing_node_a_leaves_node_bs_sessions_and_deliveries_working()
    {
        using var onA = await TwoNodes.ImapAsync(nodes.EndpointsA.Imap, "alice@example.test", "alice-dev-password");
        using var onB = await TwoNodes.ImapAsync(nodes.EndpointsB.Imap, "alice@example.test", "alice-dev-password");
        await onA.Inbox.OpenAsync(FolderAccess.ReadOnly);
        await onB.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var before = onB.Inbox.Count;

        nodes.A.KillHard();
        await Assert.ThrowsAnyAsync<Exception>(() => onA.NoOpAsync());

        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync(nodes.EndpointsB.Smtp.Address.ToString(), nodes.EndpointsB.Smtp.Port, SecureSocketOptions.None);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("sender@elsewhere.test"));
            message.To.Add(MailboxAddress.Parse("alice@example.test"));
            message.Subject = "after node A's loss";
            message.Body = new TextPart("plain") { Text = "still here" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            await onB.NoOpAsync();
        }
        while (onB.Inbox.Count == before && DateTime.UtcNow < deadline);

        Assert.Equal(before + 1, onB.Inbox.Count);
    }
}
