using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// Two <c>sealpost serve</c> processes on one PostgreSQL database, both with their outbound workers on, sending
/// to one partner MX (a real SMTP receiver found through dnsmasq): the shared queue's leases let each
/// message leave once, whichever node accepted it and whichever node's worker claims it.
/// </summary>
public sealed class TwoNodeQueue : IAsyncLifetime
{
    private readonly TempFolder _folder = new();

    public SmtpReceiver Receiver { get; private set; } = null!;

    public DnsServer Dns { get; private set; } = null!;

    public string Connection { get; private set; } = "";

    public ChildProcess A { get; private set; } = null!;

    public ChildProcess B { get; private set; } = null!;

    public IPEndPoint SubmissionA { get; private set; } = null!;

    public IPEndPoint SubmissionB { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Receiver = await SmtpReceiver.StartAsync();
        Dns = await DnsServer.StartAsync("--mx-host=partner.test,mx.partner.test,10", "--host-record=mx.partner.test,127.0.0.1");
        Connection = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        string[] delivery =
        [
            "--set", "Smtp:DnsServers:0=" + Dns.EndPoint, "--set", "Delivery:TestMxPort=" + Receiver.Port,
            "--set", "Delivery:PollSeconds=1", "--set", "Smtp:AllowPlaintextAuthOnLoopback=true",
        ];
        A = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(_folder.Sub("a"), Connection, delivery));
        await TwoNodes.EndpointsAsync(A);
        SubmissionA = Submission(A);
        DataFolders.Copy(_folder.Sub("a"), _folder.Sub("b"));
        B = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(_folder.Sub("b"), Connection, [.. delivery, "--set", "Audit:Node=node-b"]));
        await TwoNodes.EndpointsAsync(B);
        SubmissionB = Submission(B);
    }

    private static IPEndPoint Submission(ChildProcess node) =>
        IPEndPoint.Parse(node.Lines.Last(l => l.TrimStart().StartsWith("submission ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    public Task DisposeAsync()
    {
        A.Dispose();
        B.Dispose();
        Receiver.Dispose();
        Dns.Dispose();
        _folder.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class TwoNodeQueueTests(TwoNodeQueue nodes) : IClassFixture<TwoNodeQueue>
{
    [Fact]
    public async Task Each_message_queued_through_either_node_leaves_once_while_both_nodes_workers_run()
    {
        const int PerNode = 12;
        await SubmitAsync(nodes.SubmissionA, "via a", PerNode);
        await SubmitAsync(nodes.SubmissionB, "via b", PerNode);

        await nodes.Receiver.WaitForAsync(2 * PerNode, TimeSpan.FromSeconds(90));
        await Waiting.UntilAsync(() => QueueLength() == 0, "both nodes' workers to finish the queue", seconds: 90);

        var subjects = nodes.Receiver.Messages.Select(m => m.Subject).ToList();
        Assert.Equal(2 * PerNode, subjects.Count); // none twice, though two workers claimed from one queue
        Assert.Equal(
            Enumerable.Range(0, PerNode).SelectMany(i => new[] { $"via a {i}", $"via b {i}" }).Order(),
            subjects.Order());
    }

    private static async Task SubmitAsync(IPEndPoint submission, string prefix, int count)
    {
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync(submission.Address.ToString(), submission.Port, SecureSocketOptions.None);
        await smtp.AuthenticateAsync("alice@example.test", "alice-dev-password");
        for (var i = 0; i < count; i++)
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("alice@example.test"));
            message.To.Add(MailboxAddress.Parse("bob@partner.test"));
            message.Subject = $"{prefix} {i}";
            message.Body = new TextPart("plain") { Text = "queued through one of two nodes" };
            await smtp.SendAsync(message);
        }

        await smtp.DisconnectAsync(true);
    }

    private int QueueLength()
    {
        using var connection = new NpgsqlConnection(nodes.Connection);
        connection.Open();
        using var command = new NpgsqlCommand("SELECT count(*) FROM queue", connection);
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
