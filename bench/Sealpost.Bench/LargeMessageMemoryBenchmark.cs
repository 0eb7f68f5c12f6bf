using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sealpost.Bench;

/// <summary>
/// Peak resident memory while many large messages arrive at once: starts `sealpost serve --dev` as its
/// own process with a message-memory budget (Limits:MaxMessageMemoryBytes), sends N concurrent SMTP
/// messages of S MiB each (DATA, 76-column text lines, to one local mailbox), samples the server's
/// VmRSS every 20 ms and prints the peak over the idle baseline as a multiple of the budget and of the
/// data in flight, then the RSS 20 s after the last reply (what is handed back).
/// </summary>
internal static class LargeMessageMemoryBenchmark
{
    public static async Task<int> RunAsync(string serverDll, int messages, int sizeMiB, int budgetMiB, bool bdat)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sealpost-bench-bigmem-" + Guid.NewGuid().ToString("N"));
        var port = ServeProcess.FreePort();
        using var server = await ServeProcess.StartAsync(serverDll, folder, port,
        [
            "--set", $"Limits:MaxMessageBytes={(long)(sizeMiB + 1) * 1024 * 1024}", "--set", $"Limits:MaxMessageMemoryBytes={(long)budgetMiB * 1024 * 1024}",
            "--set", $"Limits:MaxMessageMemoryPerAddressBytes={(long)budgetMiB * 1024 * 1024}",
        ]);
        try
        {
            var endpoint = new IPEndPoint(IPAddress.Loopback, port);
            var body = Body(sizeMiB);
            await SendAsync(endpoint, Body(1), bdat); // warm: one small message through the whole path
            await Task.Delay(2000);
            var baseline = Rss(server.Id);
            var peak = baseline;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, Rss(server.Id));
                    await Task.Delay(20);
                }
            });
            var watch = Stopwatch.StartNew();
            var replies = await Task.WhenAll(Enumerable.Range(0, messages).Select(_ => SendAsync(endpoint, body, bdat)));
            var elapsed = watch.Elapsed;
            await Task.Delay(200);
            sampling.Cancel();
            await sampler;
            var accepted = replies.Count(r => r.StartsWith("250", StringComparison.Ordinal));
            var deferred = replies.Count(r => r.StartsWith("452", StringComparison.Ordinal));
            await Task.Delay(20_000);
            var after = Rss(server.Id);
            const double MiB = 1024.0 * 1024;
            var growth = (peak - baseline) / MiB;
            var inFlight = Math.Min((double)messages * sizeMiB, budgetMiB);
            Console.WriteLine($"smtp-memory: {messages} concurrent {(bdat ? "BDAT" : "DATA")} messages of {sizeMiB} MiB, budget {budgetMiB} MiB; server pid {server.Id}");
            Console.WriteLine($"  accepted {accepted}, deferred 452 {deferred}, other {messages - accepted - deferred}{(messages - accepted - deferred > 0 ? " (" + replies.First(r => !r.StartsWith("250", StringComparison.Ordinal) && !r.StartsWith("452", StringComparison.Ordinal)) + ")" : "")} in {elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"  server RSS: idle {baseline / MiB:F0} MiB, peak {peak / MiB:F0} MiB (+{growth:F0} MiB), 20 s after the last reply {after / MiB:F0} MiB");
            Console.WriteLine($"  peak growth = {growth / budgetMiB:F2} x the budget, {growth / inFlight:F2} x the data the budget let in at once ({inFlight:F0} MiB)");
            return 0;
        }
        finally
        {
            try
            {
                server.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A text message of about <paramref name="mib"/> MiB: headers, then 76-column lines.</summary>
    private static byte[] Body(int mib)
    {
        var text = new StringBuilder("From: carol@remote.example\r\nTo: alice@example.test\r\nSubject: large\r\nMessage-ID: <big@remote.example>\r\n\r\n");
        var random = new Random(1);
        var line = new char[76];
        while (text.Length < mib * 1024 * 1024)
        {
            for (var i = 0; i < line.Length; i++)
            {
                line[i] = (char)('a' + random.Next(26));
            }

            text.Append(line).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static async Task<string> SendAsync(IPEndPoint endpoint, byte[] message, bool bdat)
    {
        try
        {
            using var smtp = await RawSmtp.OpenAsync(endpoint);
            await smtp.SendAsync("MAIL FROM:<carol@remote.example>\r\n");
            var mail = await smtp.ReplyAsync();
            if (!mail.StartsWith("250", StringComparison.Ordinal))
            {
                return mail;
            }

            await smtp.SendAsync("RCPT TO:<alice@example.test>\r\n");
            await smtp.ReplyAsync();
            if (bdat)
            {
                await smtp.SendAsync($"BDAT {message.Length} LAST\r\n");
                await smtp.SendAsync(message);
            }
            else
            {
                await smtp.SendAsync("DATA\r\n");
                await smtp.ReplyAsync();
                await smtp.SendAsync(message);
                await smtp.SendAsync(".\r\n");
            }

            return await smtp.ReplyAsync();
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            return "connection lost: " + ex.GetType().Name;
        }
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

}
