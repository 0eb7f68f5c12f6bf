using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;

namespace Sealpost.Bench;

/// <summary>
/// SMTP load: N connections x M messages of a given size to a local recipient on the inbound port
/// (sealing and durable commit included), pipelined or not; then the same load against Postfix's
/// smtp-sink (accepts and discards) as the generator's own ceiling, in the same run.
/// </summary>
internal static class SmtpBenchmark
{
    public static async Task<int> RunAsync(int connections, int messagesPerConnection, int size, bool pipelined, string? postgres, string? dns, int warmupSeconds)
    {
        await using var bench = await BenchServer.StartAsync("smtp", postgres, options =>
        {
            if (dns is not null)
            {
                options.Smtp.DnsServers.Add(dns); // SPF, DKIM and DMARC evaluated for every message
            }

            options.Limits.MaxConnectionsPerIp = connections + 10;
        });
        var server = bench.Server;
        {
            var endpoint = server.SmtpEndpoint(SmtpListenerKind.Inbound);
            Console.WriteLine($"smtp: {connections} connections x {messagesPerConnection} messages of {size} B to a local recipient, {(pipelined ? "pipelined" : "one command per round trip")}, store {server.Runtime.Store.Kind}, sealing and durable commit on, SPF/DKIM/DMARC {(dns is null ? "off" : "on (DNS " + dns + ")")}");
            // Warm-up is not part of the figure: the same load for a while first, until the runtime has
            // recompiled the hot code (tiered JIT: its background compiler alone took a quarter of the
            // CPU during the first ~10 s) and pools and caches are filled. A server runs for weeks.
            var warmup = Stopwatch.StartNew();
            var warmed = 0;
            while (warmup.Elapsed < TimeSpan.FromSeconds(warmupSeconds))
            {
                warmed += (await LoadAsync(endpoint, connections, 20, size, pipelined)).Latencies.Length;
            }

            Console.WriteLine($"  warm-up      {warmed} messages in {warmup.Elapsed.TotalSeconds:F0} s (not counted)");
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime; var pg0 = PgCpu();
            var ours = await LoadAsync(endpoint, connections, messagesPerConnection, size, pipelined);
            var n = connections * messagesPerConnection;
            Console.WriteLine($"  cpu per message: this process {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / n:F2} ms, postgres {(PgCpu() - pg0) * 10.0 / n:F2} ms");
            Print("sealpost", ours);

            var sink = "/usr/sbin/smtp-sink";
            if (File.Exists(sink))
            {
                var port = FreePort();
                using var process = Process.Start(new ProcessStartInfo(sink, ["-u", "nobody", $"127.0.0.1:{port}", "256"]) { RedirectStandardOutput = false, UseShellExecute = false })!;
                try
                {
                    // Wait until it listens (up to 10 s), rather than guessing how long it takes to start.
                    for (var attempt = 0; ; attempt++)
                    {
                        try
                        {
                            using var probe = new TcpClient();
                            await probe.ConnectAsync(IPAddress.Loopback, port);
                            break;
                        }
                        catch (SocketException) when (attempt < 100 && !process.HasExited)
                        {
                            await Task.Delay(100);
                        }
                    }

                    await LoadAsync(new IPEndPoint(IPAddress.Loopback, port), connections, 5, size, pipelined);
                    var ceiling = await LoadAsync(new IPEndPoint(IPAddress.Loopback, port), connections, messagesPerConnection, size, pipelined);
                    Print("smtp-sink", ceiling);
                    Console.WriteLine($"  ratio        sealpost / smtp-sink = {ours.Rate / ceiling.Rate:F2}");
                }
                finally
                {
                    process.Kill();
                }
            }
            else
            {
                Console.WriteLine("  smtp-sink    not installed (apt postfix); no ceiling measured");
            }

            return 0;
        }
    }

    private static long PgCpu()
    {
        long total = 0;
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (!stat.Contains("(postgres)")) continue;
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += long.Parse(f[11]) + long.Parse(f[12]);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return total;
    }

    internal sealed record Result(double Rate, double[] Latencies, int Failed);

    private static void Print(string who, Result r) =>
        Console.WriteLine($"  {who,-12} {r.Rate:F0} messages/s, latency p50 {P(r.Latencies, 0.5):F2} ms, p99 {P(r.Latencies, 0.99):F2} ms, failed {r.Failed}");

    private static double P(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];

    internal static async Task<Result> LoadAsync(IPEndPoint endpoint, int connections, int perConnection, int size, bool pipelined)
    {
        var body = Encoding.ASCII.GetString(BenchMessages.Content(0, size));
        var latencies = new List<double>();
        var failed = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            using var smtp = await RawSmtp.OpenAsync(endpoint);
            Func<Task<string>> Reply = smtp.ReplyAsync;
            Func<string, Task> Send = smtp.SendAsync;
            var mine = new List<double>();
            for (var i = 0; i < perConnection; i++)
            {
                var started = Stopwatch.GetTimestamp();
                if (pipelined)
                {
                    await Send("MAIL FROM:<load@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
                    await Reply();
                    await Reply();
                    await Reply();
                }
                else
                {
                    await Send("MAIL FROM:<load@remote.example>\r\n");
                    await Reply();
                    await Send("RCPT TO:<bob@example.test>\r\n");
                    await Reply();
                    await Send("DATA\r\n");
                    await Reply();
                }

                await Send(body + ".\r\n");
                var final = await Reply();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!final.StartsWith("250", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref failed);
                }
            }

            await Send("QUIT\r\n");
            lock (latencies)
            {
                latencies.AddRange(mine);
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var sorted = latencies.Order().ToArray();
        return new Result(sorted.Length / seconds, sorted, failed);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
