using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Sealpost.Bench;

/// <summary>
/// Resident memory of idle, logged-in IMAP sessions over TLS: starts `sealpost serve --dev` as its own
/// process, opens sessions from this one (implicit TLS, LOGIN, SELECT INBOX, then silence) in steps,
/// and reads the server's VmRSS from /proc after each step settles. The figure is the growth per
/// session between the baseline (one session) and each step.
/// </summary>
internal static partial class ImapMemoryBenchmark
{
    public static async Task<int> RunAsync(string serverDll, IReadOnlyList<int> steps, string mode, bool tls13, bool aeadOnly, bool clientTls12)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sealpost-bench-imapmem-" + Guid.NewGuid().ToString("N"));
        var port = FreePort();
        var plainPort = FreePort();
        var max = steps.Max();
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
                 {
                     serverDll, "serve", "--dev", "--data", folder,
                     "--set", "Http:Listen:0=127.0.0.1:0", "--set", "Smtp:InboundListen:0=127.0.0.1:0", "--set", "Smtp:SubmissionListen:0=127.0.0.1:0",
                     "--set", "Smtp:SubmissionTlsListen:0=127.0.0.1:0", "--set", $"Imap:Listen:0=127.0.0.1:{plainPort}", "--set", $"Imap:TlsListen:0=127.0.0.1:{port}",
                     "--set", $"Limits:MaxConnectionsPerIp={max + 100}", "--set", $"Limits:MaxConnections={max + 100}",
                     "--set", "Imap:MaxSessionsPerAccount=10000", "--set", "Log:Level=Warning", "--set", "Tls:MinimumProtocol=" + (tls13 ? "Tls13" : "Tls12"), "--set", "Tls:CipherSuites=" + (aeadOnly ? "AeadOnly" : "Default"),
                 })
        {
            info.ArgumentList.Add(a);
        }

        using var server = Process.Start(info)!;
        var clients = new List<(TcpClient, SslStream)>();
        try
        {
            var output = new StringBuilder();
            while (!output.ToString().Contains("Ready."))
            {
                var line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException("server exited: " + await server.StandardError.ReadToEndAsync());
                output.AppendLine(line);
            }

            _ = server.StandardOutput.ReadToEndAsync();
            _ = server.StandardError.ReadToEndAsync();
            var plain = mode == "plain";
            var endpoint = new IPEndPoint(IPAddress.Loopback, plain ? plainPort : port);
            Console.WriteLine($"imap-memory: idle sessions, mode {mode} ({Describe(mode)}), {(tls13 ? "TLS 1.3 only" : aeadOnly ? "TLS 1.2 and 1.3, AEAD-only cipher policy" : "TLS 1.2 and 1.3, default suites")}{(clientTls12 ? ", clients speak TLS 1.2" : "")}; server pid {server.Id}");
            clients.Add(await OpenAsync(endpoint, 0, mode, clientTls12));
            await Task.Delay(3000);
            var baseline = Rss(server.Id);
            Console.WriteLine($"  baseline     1 session: server RSS {baseline / 1024.0 / 1024:F0} MiB");
            foreach (var step in steps.Order())
            {
                var watch = Stopwatch.StartNew();
                var from = clients.Count;
                var opened = new (TcpClient, SslStream)[step - from];
                await Parallel.ForAsync(0, step - from, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) => opened[i] = await OpenAsync(endpoint, from + i, mode, clientTls12));
                clients.AddRange(opened);
                await Task.Delay(5000); // let allocations settle
                var rss = Rss(server.Id);
                Console.WriteLine($"  {step,6} sessions: server RSS {rss / 1024.0 / 1024:F0} MiB, {(rss - baseline) / 1024.0 / (step - 1):F1} KB per session (opened in {watch.Elapsed.TotalSeconds:F0} s)");
            }

            return 0;
        }
        finally
        {
            foreach (var (tcp, ssl) in clients)
            {
                ssl?.Dispose();
                tcp.Dispose();
            }

            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static string Describe(string mode) => mode switch
    {
        "plain" => "no TLS, greeting only: the session's own cost",
        "greeting" => "implicit TLS, greeting only",
        "login" => "implicit TLS, LOGIN",
        _ => "implicit TLS, LOGIN and SELECT INBOX",
    };

    private static async Task<(TcpClient, SslStream)> OpenAsync(IPEndPoint endpoint, int n, string mode, bool tls12)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint);
        if (mode == "plain")
        {
            await ReadUntilAsync(tcp.GetStream(), "* OK");
            return (tcp, null!);
        }

        var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = tls12 ? System.Security.Authentication.SslProtocols.Tls12 : System.Security.Authentication.SslProtocols.None });
        var user = n % 2 == 0 ? "alice@example.test alice-dev-password" : "bob@example.test bob-dev-password";
        await ReadUntilAsync(ssl, "* OK");
        if (mode == "greeting")
        {
            return (tcp, ssl);
        }

        await ssl.WriteAsync(Encoding.ASCII.GetBytes(mode == "login" ? $"b LOGIN {user}\r\n" : $"a LOGIN {user}\r\nb SELECT INBOX\r\n"));
        await ReadUntilAsync(ssl, "b OK");
        return (tcp, ssl);
    }

    private static async Task ReadUntilAsync(Stream stream, string marker)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!text.ToString().Contains(marker))
        {
            var n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("server closed: " + text);
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    private static long Rss(int pid)
    {
        var status = File.ReadAllText($"/proc/{pid}/status");
        var kb = long.Parse(RssLine().Match(status).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return kb * 1024;
    }

    [GeneratedRegex(@"VmRSS:\s+(\d+) kB")]
    private static partial Regex RssLine();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
