using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Sealpost.Imap;

namespace Sealpost.Bench;

/// <summary>
/// A login storm with production Argon2id parameters: N accounts, each logging in over C IMAP
/// connections at the same moment with a cold login cache (as after a restart at 8 a.m.). Prints
/// how long until everyone is in, login latency percentiles, how many Argon2id computations ran and
/// at most how many at once (PasswordHashing:MaxConcurrent), and the process's peak memory.
/// </summary>
internal static partial class LoginStormBenchmark
{
    public static async Task<int> RunAsync(int users, int connectionsPerUser)
    {
        await using var bench = await BenchServer.StartAsync("login-storm", null, o => o.Limits.MaxConnectionsPerIp = users * connectionsPerUser + 10);
        var server = bench.Server;
        var r = server.Runtime;
        var kdf = r.Vault.Kdf;
        Console.WriteLine($"login-storm: {users} accounts x {connectionsPerUser} IMAP connections at once, Argon2id m={r.Options.PasswordHashing.MemoryKiB} KiB t={r.Options.PasswordHashing.Iterations}, at most {kdf.MaxConcurrent} at once");
        var create = Stopwatch.StartNew();
        for (var i = 0; i < users; i++)
        {
            await r.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, $"storm{i}@example.test", $"storm password {i}", null, 0);
        }

        Console.WriteLine($"  {users} accounts created in {create.Elapsed.TotalSeconds:F1} s");
        var runsBefore = kdf.Runs;
        var peakBefore = PeakRss();
        var endpoint = server.ImapEndpoint(ImapListenerKind.StartTls);
        var clock = Stopwatch.StartNew();
        var latencies = await Task.WhenAll(Enumerable.Range(0, users * connectionsPerUser).Select(n => Task.Run(async () =>
        {
            using var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync(endpoint);
            var stream = tcp.GetStream();
            await ReadUntilAsync(stream, "* OK");
            var started = Stopwatch.GetTimestamp();
            var user = n % users;
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"a LOGIN storm{user}@example.test \"storm password {user}\"\r\n"));
            var reply = await ReadUntilAsync(stream, "a ");
            if (!reply.Contains("a OK", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("login refused: " + reply);
            }

            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        })));
        var total = clock.Elapsed;
        Array.Sort(latencies);
        Console.WriteLine($"  all {latencies.Length} logged in after {total.TotalSeconds:F1} s ({latencies.Length / total.TotalSeconds:F0} logins/s); latency p50 {latencies[latencies.Length / 2]:F0} ms, p99 {latencies[(int)(latencies.Length * 0.99)]:F0} ms");
        Console.WriteLine($"  Argon2id computations: {kdf.Runs - runsBefore} for {users} accounts (peak {kdf.PeakConcurrent} at once)");
        Console.WriteLine($"  peak resident memory: {peakBefore / 1024.0 / 1024:F0} MiB before the storm, {PeakRss() / 1024.0 / 1024:F0} MiB after (server and clients in one process)");
        return 0;
    }

    private static async Task<string> ReadUntilAsync(Stream stream, string marker)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        while (!text.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("server closed: " + text);
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    private static long PeakRss() =>
        long.Parse(PeakLine().Match(File.ReadAllText("/proc/self/status")).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024;

    [GeneratedRegex(@"VmHWM:\s+(\d+) kB")]
    private static partial Regex PeakLine();
}
