using System.Diagnostics;
using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;
using Sealpost.Smtp;
using Sealpost.Tests.Support;
using Xunit.Abstractions;

namespace Sealpost.Tests.Server;

/// <summary>
/// The two districts are not loopback: the synchronous standby streams through a proxy that adds a
/// one-way delay (the kernel here has no netem), so every commit waits a round trip for the other
/// site. SMTP throughput and p99 with and without the delay are printed (figures, not thresholds);
/// every message is delivered either way.
/// </summary>
public sealed class DistanceTests(ITestOutputHelper output)
{
    private const int Sessions = 20;
    private const int PerSession = 15;

    [Fact]
    public async Task Synchronous_replication_over_a_delayed_link_delivers_everything_and_the_cost_is_printed()
    {
        var primary = await PostgresCluster.StartNewAsync();
        PostgresCluster? standby = null;
        using var link = new DelayProxy(new IPEndPoint(IPAddress.Loopback, primary.Port));
        try
        {
            var connection = await primary.CreateDatabaseAsync();
            standby = await primary.StartStandbyAsync("dr_site", link.Port);
            await primary.ExecuteAsync("ALTER SYSTEM SET synchronous_standby_names = 'dr_site'");
            await primary.ExecuteAsync("SELECT pg_reload_conf()");
            await using var server = await TestServer.StartAsync(o =>
            {
                o.Store.Kind = "postgres";
                o.Store.ConnectionString = connection;
            });
            await Waiting.UntilAsync(() => SynchronousStandbys(connection) == 1, "the standby did not become synchronous", 30);
            var smtp = server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);
            await LoadAsync(smtp, "warm-up", Sessions, 5); // not counted

            var figures = new List<string>();
            // Alternated, so drift in the machine's speed does not favour one.
            var round = 0;
            foreach (var oneWay in new[] { 0, 2, 0, 2 })
            {
                link.Delay = TimeSpan.FromMilliseconds(oneWay);
                var (rate, p50, p99) = await LoadAsync(smtp, $"r{round++}", Sessions, PerSession);
                figures.Add($"one-way delay {oneWay} ms: {rate:F0} messages/s, p50 {p50:F1} ms, p99 {p99:F1} ms");
            }

            output.WriteLine($"SMTP, {Sessions} sessions x {PerSession} messages of 5 KB, synchronous standby through the link:\n  " + string.Join("\n  ", figures));
            Assert.Equal(1, SynchronousStandbys(connection)); // the standby stayed synchronous throughout
        }
        finally
        {
            await primary.StopAndDeleteAsync();
            await (standby?.StopAndDeleteAsync() ?? Task.CompletedTask);
        }
    }

    private static long SynchronousStandbys(string connection)
    {
        using var check = new NpgsqlConnection(connection);
        check.Open();
        using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'", check);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Every message must get 250; the rate and latency percentiles of the run.</summary>
    private static async Task<(double Rate, double P50, double P99)> LoadAsync(IPEndPoint endpoint, string run, int sessions, int perSession)
    {
        var body = new string('x', 76) + "\r\n";
        var text = string.Concat(Enumerable.Repeat(body, 5120 / body.Length));
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, sessions).Select(s => Task.Run(async () =>
        {
            using var client = new SmtpClient();
            await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.None);
            for (var i = 0; i < perSession; i++)
            {
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("load@elsewhere.test"));
                message.To.Add(MailboxAddress.Parse("bob@example.test"));
                message.Subject = $"distance {run}-{s}-{i}";
                message.Body = new TextPart("plain") { Text = text };
                var started = Stopwatch.GetTimestamp();
                await client.SendAsync(message);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            await client.DisconnectAsync(true);
        })));
        var rate = sessions * perSession / clock.Elapsed.TotalSeconds;
        var sorted = latencies.Order().ToArray();
        return (rate, sorted[sorted.Length / 2], sorted[Math.Min(sorted.Length - 1, (int)(0.99 * sorted.Length))]);
    }
}
