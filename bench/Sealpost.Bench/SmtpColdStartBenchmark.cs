using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sealpost.Bench;

/// <summary>
/// What nodes deliver from the moment they start (a restart, a rolling upgrade, a failover): starts one
/// or more published `sealpost serve --dev` processes (several share one PostgreSQL database, the second
/// a copy of the first's data folder), and the moment the last says Ready opens N SMTP sessions, spread
/// over the nodes, that each send 5 KB messages to one local mailbox, one after another. Prints the time
/// to Ready, then messages per second and latency for the first window after Ready and for the window
/// after it (steady state), so the cost of a cold process (JIT, empty caches and pools) shows beside the
/// warm figure, and one node's figure beside two nodes'.
/// </summary>
internal static class SmtpColdStartBenchmark
{
    public static async Task<int> RunAsync(string server, int connections, int windowSeconds, int size, int nodes = 1, string? postgres = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "sealpost-bench-cold-" + Guid.NewGuid().ToString("N"));
        var processes = new List<Process>();
        var ports = new List<int>();
        var started = Stopwatch.StartNew();
        try
        {
            for (var node = 0; node < nodes; node++)
            {
                var folder = Path.Combine(root, "node" + node);
                if (node > 0)
                {
                    CopyFolder(Path.Combine(root, "node0"), folder); // the same keys and dev master key, as a second node gets them
                }

                ports.Add(FreePort());
                processes.Add(await StartAsync(server, folder, ports[^1], node, postgres));
            }

            var ready = started.Elapsed;
            var message = Encoding.ASCII.GetBytes(Message(size));
            var clock = Stopwatch.StartNew();
            var window = TimeSpan.FromSeconds(windowSeconds);
            var latencies = new[] { new List<double>(), new List<double>() };
            var failed = 0;
            await Task.WhenAll(Enumerable.Range(0, connections).Select(async session =>
            {
                using var smtp = await RawSmtp.OpenAsync(new IPEndPoint(IPAddress.Loopback, ports[session % ports.Count]));
                while (clock.Elapsed < 2 * window)
                {
                    var begin = clock.Elapsed;
                    await smtp.SendAsync("MAIL FROM:<load@remote.example>\r\n");
                    await smtp.ReplyAsync();
                    await smtp.SendAsync("RCPT TO:<alice@example.test>\r\n");
                    await smtp.ReplyAsync();
                    await smtp.SendAsync("DATA\r\n");
                    await smtp.ReplyAsync();
                    await smtp.SendAsync(message);
                    var reply = await smtp.ReplyAsync();
                    var end = clock.Elapsed;
                    var phase = begin < window ? 0 : 1;
                    lock (latencies)
                    {
                        if (!reply.StartsWith("250", StringComparison.Ordinal))
                        {
                            failed++;
                        }
                        else if (end < 2 * window || phase == 0)
                        {
                            latencies[phase].Add((end - begin).TotalMilliseconds);
                        }
                    }
                }
            }));

            Console.WriteLine($"smtp-cold: {server}, {nodes} node(s) on {(postgres is null ? "SQLite" : "one PostgreSQL database")}, {connections} sessions x {size} B to one local mailbox, fresh data, sealing and durable commit on, no SPF/DKIM/DMARC");
            Console.WriteLine($"  ready after {ready.TotalSeconds:F2} s");
            string[] names = [$"first {windowSeconds} s after Ready", $"the {windowSeconds} s after that"];
            for (var i = 0; i < 2; i++)
            {
                var sorted = latencies[i].Order().ToList();
                double P(double q) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
                Console.WriteLine($"  {names[i],-26} {sorted.Count / (double)windowSeconds,7:F0} messages/s, p50 {P(0.5),7:F1} ms, p99 {P(0.99),7:F1} ms");
            }

            Console.WriteLine($"  failed {failed}");
            return failed == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var process in processes)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }

                process.Dispose();
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static Task<Process> StartAsync(string server, string folder, int port, int node, string? postgres) =>
        ServeProcess.StartAsync(server, folder, port, postgres is null
            ? ["--set", "Smtp:UseSystemDns=false"]
            : ["--set", "Smtp:UseSystemDns=false", "--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + postgres, "--set", $"Audit:Node=node-{node}"]);

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".sock", StringComparison.Ordinal) || file.EndsWith(".lock", StringComparison.Ordinal))
            {
                continue; // the running node's own socket and locks
            }

            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string Message(int size)
    {
        var text = new StringBuilder("From: load@remote.example\r\nTo: alice@example.test\r\nSubject: cold start\r\n\r\n");
        while (text.Length < size)
        {
            text.Append("The quick brown fox jumps over the lazy dog, again and again, line after line.\r\n");
        }

        return text.Append(".\r\n").ToString();
    }

    private static int FreePort() => ServeProcess.FreePort();
}
