using System.Diagnostics;
using System.Text;
using Sealpost.Mime.Dkim;
using Sealpost.Server;

namespace Sealpost.Bench;

/// <summary>
/// Outbound delivery, as issue 14 measures it: a cold server (no warm-up), N connections submitting
/// 5 KB messages for another organisation, each DKIM-signed with the given RSA key and relayed to
/// Postfix's smtp-sink; the figure is messages counted at the sink per second from the first
/// submission. Also DKIM signatures per second for RSA-2048 and Ed25519.
/// </summary>
internal static class OutboundBenchmark
{
    public static async Task<int> RunAsync(int connections, int perConnection, int size, int sinkPort, string sinkCounter, string keyFile)
    {
        await using var bench = await BenchServer.StartAsync("outbound", null, o =>
        {
            o.Delivery.SmartHost = $"127.0.0.1:{sinkPort}";
            o.Delivery.MaxConcurrentDeliveries = connections;
            o.Delivery.MaxConnectionsPerDestination = connections;
            o.Smtp.AllowPlaintextAuthOnLoopback = true;
            // One account sends the whole load: its hourly sending limits would hold most of it.
            o.Delivery.MaxMessagesPerAccountPerHour = 0;
            o.Delivery.MaxRecipientsPerAccountPerHour = 0;
        });
        var runtime = bench.Server.Runtime;
        await runtime.Dkim.CreateAsync(SealpostRuntime.LocalAdministrator, "example.test", "rsa", "bench", CancellationToken.None, await File.ReadAllTextAsync(keyFile));
        var submission = bench.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.Submission);

        var total = connections * perConnection;
        var before = SinkCount(sinkCounter);
        var clock = Stopwatch.StartNew();
        var accepted = 0;
        var load = Task.WhenAll(Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            using var smtp = await RawSmtp.OpenAsync(submission);
            Func<Task<string>> Reply = smtp.ReplyAsync;
            Func<string, Task> Send = smtp.SendAsync;
            await Send("AUTH PLAIN " + Convert.ToBase64String(Encoding.ASCII.GetBytes("\0alice@example.test\0alice-dev-password")) + "\r\n");
            if (!(await Reply()).StartsWith("235", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("AUTH failed");
            }

            for (var i = 0; i < perConnection; i++)
            {
                await Send("MAIL FROM:<alice@example.test>\r\nRCPT TO:<carol@partner.test>\r\nDATA\r\n");
                await Reply();
                await Reply();
                await Reply();
                await Send(Message((c * perConnection) + i, size) + ".\r\n");
                if ((await Reply()).StartsWith("250", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref accepted);
                }
            }

            await Send("QUIT\r\n");
        })));
        await load;
        var submitted = clock.Elapsed.TotalSeconds;
        while (SinkCount(sinkCounter) - before < accepted && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(20);
        }

        var delivered = SinkCount(sinkCounter) - before;
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  sealpost     {delivered} of {total} delivered at the sink in {seconds:F2} s from a cold start: {delivered / seconds:F0} messages/s (all submitted in {submitted:F2} s; {accepted} accepted)");
        Console.WriteLine($"SEALPOST_RATE={delivered / seconds:F1}");

        foreach (var algorithm in new[] { "rsa", "ed25519" })
        {
            var key = DkimKey.Create("example.test", "s", algorithm, DateTimeOffset.UtcNow);
            var message = Encoding.ASCII.GetBytes(Message(1, size));
            var signClock = Stopwatch.StartNew();
            var signatures = 0;
            while (signClock.Elapsed < TimeSpan.FromSeconds(3))
            {
                DkimMessageSigner.Sign(message, key);
                signatures++;
            }

            Console.WriteLine($"  dkim {algorithm,-8} {signatures / signClock.Elapsed.TotalSeconds:F0} signatures/s (5 KB message, one thread, parse + sign)");
        }

        return delivered == total ? 0 : 1;
    }

    private static string Message(long index, int size)
    {
        var header = $"From: Alice <alice@example.test>\r\nTo: carol@partner.test\r\nSubject: outbound bench {index}\r\nMessage-ID: <{index}.out@example.test>\r\n" +
                     "Date: Fri, 04 Dec 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
        var body = new StringBuilder(header);
        while (body.Length < size - 2)
        {
            body.Append($"line of message {index} ............................................................\r\n");
        }

        return body.ToString();
    }

    /// <summary>The message counter smtp-sink -c last printed ("sess=N quit=N mesg=N" lines separated by CR).</summary>
    internal static long SinkCount(string file)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            var at = text.LastIndexOf("mesg=", StringComparison.Ordinal);
            if (at < 0)
            {
                return 0;
            }

            var end = at + 5;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            return long.Parse(text.AsSpan(at + 5, end - at - 5), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }
}
