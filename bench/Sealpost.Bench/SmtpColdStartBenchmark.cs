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
            await LoadAsync(ports.Select(p => new IPEndPoint(IPAddress.Loopback, p)).ToList(), connections, message, clock, () => clock.Elapsed < 2 * window, (begin, end, ok) =>
            {
                var phase = begin < window ? 0 : 1;
                lock (latencies)
                {
                    if (!ok)
                    {
                        failed++;
                    }
                    else if (end < 2 * window || phase == 0)
                    {
                        latencies[phase].Add((end - begin).TotalMilliseconds);
                    }
                }
            });

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

    /// <summary>
    /// Issue 20's SMTP figure: a whole run of <paramref name="total"/> messages (N sessions, 5 KB, one local
    /// mailbox) from a cold start, Sealpost against Postfix handing to Dovecot over LMTP, in one invocation.
    /// Sealpost's 250 comes after the sealed message is durably in the mailbox, so its accepted rate is its
    /// delivered rate; for the reference, delivered is when Dovecot's Maildir holds every message.
    /// </summary>
    public static async Task<int> RunWholeAsync(string server, int connections, int total, int size)
    {
        var message = Encoding.ASCII.GetBytes(Message(size));
        var root = Path.Combine(Path.GetTempPath(), "sealpost-bench-cold-" + Guid.NewGuid().ToString("N"));
        Console.WriteLine($"smtp-cold whole run: {total} messages, {connections} sessions x {size} B to one local mailbox, each server started cold; sealing and durable commit on, no SPF/DKIM/DMARC");
        double ours;
        var started = Stopwatch.StartNew();
        var port = FreePort();
        using (var sealpost = await StartAsync(server, Path.Combine(root, "node0"), port, 0, null))
        {
            var ready = started.Elapsed;
            var run = await WholeAsync(new IPEndPoint(IPAddress.Loopback, port), connections, total, message);
            sealpost.Kill(entireProcessTree: true);
            ours = total / run.Delivered.TotalSeconds;
            Console.WriteLine($"  sealpost                   ready after {ready.TotalSeconds:F2} s; {run.Describe(total)}");
        }

        Directory.Delete(root, recursive: true);
        if (!File.Exists("/usr/sbin/postfix") || !File.Exists("/usr/lib/dovecot/lmtp"))
        {
            Console.WriteLine("  postfix or dovecot-lmtpd not installed (scripts/deps.sh): no reference");
            return 0;
        }

        await using var dovecot = await ReferenceDovecot.StartAsync(0, highPerformance: false, connections, _ => "", lmtp: true);
        await using var postfix = await ReferencePostfix.StartAsync(dovecot.LmtpEndpoint!, connections);
        var reference = await WholeAsync(postfix.Endpoint, connections, total, message, () => dovecot.Delivered("alice@example.test"));
        var theirs = total / reference.Delivered.TotalSeconds;
        Console.WriteLine($"  postfix -> dovecot lmtp    {reference.Describe(total)}");
        Console.WriteLine($"  delivered: Sealpost {ours:F0} messages/s, Postfix -> Dovecot LMTP {theirs:F0}: {ours / theirs:F2}x");
        return 0;
    }

    private sealed record Whole(TimeSpan Accepted, TimeSpan Delivered, List<double> Latencies, int Failed)
    {
        public string Describe(int total)
        {
            Latencies.Sort();
            double P(double q) => Latencies.Count == 0 ? 0 : Latencies[Math.Min(Latencies.Count - 1, (int)(q * Latencies.Count))];
            return $"250 for all after {Accepted.TotalSeconds:F1} s ({total / Accepted.TotalSeconds:F0}/s), delivered after {Delivered.TotalSeconds:F1} s ({total / Delivered.TotalSeconds:F0}/s), "
                + $"250 latency p50 {P(0.5):F1} ms, p99 {P(0.99):F1} ms, failed {Failed}";
        }
    }

    /// <param name="delivered">How many messages have reached the mailbox, when a 250 does not mean that (a queue in between).</param>
    private static async Task<Whole> WholeAsync(IPEndPoint endpoint, int connections, int total, byte[] message, Func<int>? delivered = null)
    {
        var clock = Stopwatch.StartNew();
        var claimed = 0;
        var failed = 0;
        var latencies = new List<double>(total);
        await LoadAsync([endpoint], connections, message, clock, () => Interlocked.Increment(ref claimed) <= total, (begin, end, ok) =>
        {
            lock (latencies)
            {
                if (ok)
                {
                    latencies.Add((end - begin).TotalMilliseconds);
                }
                else
                {
                    failed++;
                }
            }
        });
        var accepted = clock.Elapsed;
        if (delivered is not null)
        {
            var deadline = clock.Elapsed + TimeSpan.FromMinutes(10);
            while (delivered() < total - failed && clock.Elapsed < deadline)
            {
                await Task.Delay(10);
            }
        }

        return new Whole(accepted, clock.Elapsed, latencies, failed);
    }

    /// <summary>N sessions on the endpoints (round-robin), each sending the message one transaction after another while <paramref name="more"/> says so.</summary>
    private static Task LoadAsync(IReadOnlyList<IPEndPoint> endpoints, int connections, byte[] message, Stopwatch clock, Func<bool> more, Action<TimeSpan, TimeSpan, bool> record) =>
        Task.WhenAll(Enumerable.Range(0, connections).Select(async session =>
        {
            using var smtp = await RawSmtp.OpenAsync(endpoints[session % endpoints.Count]);
            while (more())
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
                record(begin, clock.Elapsed, reply.StartsWith("250", StringComparison.Ordinal));
            }
        }));

    private static Task<Process> StartAsync(string server, string folder, int port, int node, string? postgres) =>
        ServeProcess.StartAsync(server, folder, port, postgres is null
            ? ["--set", "Smtp:UseSystemDns=false"]
            : ["--set", "Smtp:UseSystemDns=false", "--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + postgres, "--set", $"Audit:Node=node-{node}"]);

    /// <summary>A node's data folder copied for another node (its dev master key and certificate), without the running node's sockets and locks.</summary>
    internal static void CopyFolder(string from, string to)
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
