using System.Net;
using Sealpost.Core.Configuration;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// Outbound delivery across processes: two <c>sealpost serve</c> nodes on one PostgreSQL drain one
/// queue and no message is sent twice; a node killed with SIGKILL while it holds messages loses
/// none of them (another process takes them when the lease runs out), and repeats only those that
/// were in flight.
/// </summary>
public sealed class MultiNodeDeliveryTests
{
    private static string[] NodeArgs(string data, DnsServer dns, SmtpReceiver receiver, params string[] extra) =>
    [
        "serve", "--dev", "--data", data, .. TestOptions.LoopbackListeners, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile,
        "--set", "Smtp:DnsServers:0=" + dns.EndPoint, "--set", "Delivery:TestMxPort=" + receiver.Port, "--set", "Delivery:PollSeconds=1",
        .. extra,
    ];

    private static async Task<IPEndPoint> SubmissionAsync(ChildProcess node)
    {
        var line = await node.WaitForLineAsync(l => l.TrimStart().StartsWith("submission ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await node.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return IPEndPoint.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    private static Task SubmitAsync(IPEndPoint submission, IEnumerable<string> subjects) =>
        Submitter.SendAsync(submission, subjects.Select(s => Submitter.Message(s, "carol@partner.test")));

    private static Task<DnsServer> DnsAsync() => DnsServer.StartAsync("--mx-host=partner.test,mx.partner.test,10", "--host-record=mx.partner.test,127.0.0.1");

    [Fact]
    public async Task Two_nodes_on_one_postgres_drain_one_queue_without_sending_a_message_twice()
    {
        var connection = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        using var receiver = await SmtpReceiver.StartAsync();
        using var dns = await DnsAsync();
        using var folder = new TempFolder();
        string[] pg = ["--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + connection];

        using var a = ChildProcess.Start("sealpost", NodeArgs(folder.Sub("a"), dns, receiver, pg));
        var submitA = await SubmissionAsync(a);
        // A second node is the first one's data folder (its keys) on another machine.
        DataFolders.Copy(folder.Sub("a"), folder.Sub("b"));
        using var b = ChildProcess.Start("sealpost", NodeArgs(folder.Sub("b"), dns, receiver, [.. pg, "--set", "Audit:Node=node-b"]));
        var submitB = await SubmissionAsync(b);

        var subjects = Enumerable.Range(1, 40).Select(i => $"two-nodes {i}").ToList();
        await Task.WhenAll(SubmitAsync(submitA, subjects.Take(20)), SubmitAsync(submitB, subjects.Skip(20)));

        var received = await receiver.WaitForAsync(40, TimeSpan.FromSeconds(60));
        // Both nodes were free to take any of them; each message arrived once.
        Assert.Equal(subjects.Order(), received.Select(m => m.Subject).Order());
        // Once the queue is empty nothing is left to send twice.
        await WaitUntilAsync(async () =>
        {
            await using var c = new Npgsql.NpgsqlConnection(connection);
            await c.OpenAsync();
            await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM queue", c);
            return (long)(await count.ExecuteScalarAsync())! == 0;
        });
        Assert.Equal(40, receiver.Messages.Count);
    }

    [Fact]
    public async Task A_node_killed_while_delivering_loses_nothing_and_repeats_only_what_was_in_flight()
    {
        using var receiver = await SmtpReceiver.StartAsync();
        using var dns = await DnsAsync();
        using var folder = new TempFolder();
        var data = folder.Sub("node");
        var subjects = Enumerable.Range(1, 30).Select(i => $"killed {i}").ToList();
        // Delivery off while the queue fills, so the kill finds every message still queued.
        using (var filling = ChildProcess.Start("sealpost", NodeArgs(data, dns, receiver, "--set", "Delivery:Enabled=false")))
        {
            await SubmitAsync(await SubmissionAsync(filling), subjects);
            filling.KillHard();
            await filling.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        // Slow deliveries (the receiver answers at once, but 3 at a time with a 10-second lease) and a kill part-way.
        using (var delivering = ChildProcess.Start("sealpost", NodeArgs(data, dns, receiver, "--set", "Delivery:MaxConcurrentDeliveries=3", "--set", "Delivery:LeaseSeconds=10")))
        {
            await SubmissionAsync(delivering);
            await receiver.WaitForAsync(5, TimeSpan.FromSeconds(60));
            delivering.KillHard();
            await delivering.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        var beforeRestart = receiver.Messages.Count;
        using (var restarted = ChildProcess.Start("sealpost", NodeArgs(data, dns, receiver, "--set", "Delivery:LeaseSeconds=10")))
        {
            await SubmissionAsync(restarted);
            await WaitForSubjectsAsync(receiver, subjects, TimeSpan.FromSeconds(90));
            await WaitUntilAsync(async () =>
            {
                await using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "sealpost.db")};Mode=ReadOnly");
                await c.OpenAsync();
                await using var count = c.CreateCommand();
                count.CommandText = "SELECT count(*) FROM queue";
                return (long)(await count.ExecuteScalarAsync())! == 0;
            });
            var all = receiver.Messages.Select(m => m.Subject).ToList();
            var duplicates = all.GroupBy(s => s).Where(g => g.Count() > 1).Sum(g => g.Count() - 1);
            // At least once: every message arrived; at most the 3 in flight at the kill came twice.
            Assert.True(duplicates <= 3, $"{duplicates} duplicates (of {beforeRestart} delivered before the restart)");
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the queue did not empty");
            await Task.Delay(100);
        }
    }

    private static async Task WaitForSubjectsAsync(SmtpReceiver receiver, IReadOnlyList<string> subjects, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var seen = receiver.Messages.Select(m => m.Subject).ToList();
            if (subjects.All(seen.Contains))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"only {seen.Distinct().Count()} of {subjects.Count} messages arrived");
            await Task.Delay(100);
        }
    }
}
