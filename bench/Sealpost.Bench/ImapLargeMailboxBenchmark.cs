using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Core.Mail;
using Sealpost.Imap;
using Sealpost.Server.Hosting;

namespace Sealpost.Bench;

/// <summary>
/// Issue 7's figures on one large mailbox: QRESYNC SELECT after 100 changes made elsewhere, FETCH 1:*
/// (FLAGS), SEARCH FROM and SUBJECT (cold: metadata decrypted; warm: from the in-memory cache), SORT by
/// date, and one BODY search (every message decrypted). Times are what a loopback client sees.
/// </summary>
internal static partial class ImapLargeMailboxBenchmark
{
    public static async Task<int> RunAsync(int messages, string? postgres)
    {
        await using var bench = await BenchServer.StartAsync("imaplarge", postgres);
        var server = bench.Server;
        {
            var r = server.Runtime;
            var (account, session) = (await r.Directory.LoginAsync("alice@example.test", "alice-dev-password"))!.Value;
            var big = await r.Mailboxes.CreateAsync(account.Id, session.Names, "Big");
            var fill = Stopwatch.StartNew();
            await ImapBenchmark.FillAsync(r.Delivery, account.Id, big.Id, messages);
            Console.WriteLine($"imap-large: {messages} messages in one mailbox (filled through the delivery path in {fill.Elapsed.TotalSeconds:F0} s), store {r.Store.Kind}");
            var endpoint = server.ImapEndpoint(ImapListenerKind.StartTls);

            // Mail delivered while its owner was away: the login starts the background re-wrap, and the
            // first SEARCH comes at once, while it runs (issue 20: every answer < 2 s, re-wrap <= 30 s).
            var a = await ImapBenchmark.Client.ConnectAsync(endpoint);
            var login = Stopwatch.StartNew();
            await a.CommandAsync("LOGIN alice@example.test alice-dev-password");
            await a.CommandAsync("ENABLE QRESYNC");
            var select = await a.CommandAsync("SELECT Big");
            var allocated = GC.GetTotalAllocatedBytes();
            var (gen0, gen1, gen2, paused) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            await Time("SEARCH FROM right after LOGIN (cold)", 1, () => a.CommandAsync("SEARCH FROM \"Sender 7\""));
            Console.WriteLine($"  {"  while it ran (with the re-wrap)",-42} {(GC.GetTotalAllocatedBytes() - allocated) / (1024 * 1024),9} MiB allocated, "
                + $"{GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} collections (gen 0/1/2), {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:F0} ms paused, "
                + $"{(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds:F0} ms CPU");
            while ((await r.Store.Mail.ListMessagesAsync(big.Id, UidRange.All)).Any(m => m.WrappedKey is { Length: > 1 } w && w[1] != 3)) // byte 1: the wrap's kind, 3 under a folder key
            {
                await Task.Delay(100);
            }

            Console.WriteLine($"  {"background re-wrap after LOGIN complete",-42} {login.Elapsed.TotalMilliseconds,9:F0} ms after the LOGIN");
            var validity = Regex.Match(select, @"UIDVALIDITY (\d+)").Groups[1].Value;
            var modseq = Regex.Match(select, @"HIGHESTMODSEQ (\d+)").Groups[1].Value;
            await a.CommandAsync("UNSELECT");

            // 100 changes by another session: 50 flag changes, 50 expunges.
            var b = await ImapBenchmark.Client.ConnectAsync(endpoint);
            await b.CommandAsync("LOGIN alice@example.test alice-dev-password");
            await b.CommandAsync("SELECT Big");
            var random = new Random(7);
            for (var i = 0; i < 50; i++)
            {
                await b.CommandAsync($"UID STORE {random.Next(1, messages)} +FLAGS.SILENT (\\Flagged)");
            }

            var doomed = Enumerable.Range(0, 50).Select(_ => random.Next(1, messages)).Distinct().ToList();
            await b.CommandAsync($"UID STORE {string.Join(',', doomed)} +FLAGS.SILENT (\\Deleted)");
            await b.CommandAsync($"UID EXPUNGE {string.Join(',', doomed)}");
            b.Dispose();

            await Time("QRESYNC SELECT after 100 changes", 5, async () =>
            {
                var reply = await a.CommandAsync($"SELECT Big (QRESYNC ({validity} {modseq}))");
                if (!reply.Contains("VANISHED (EARLIER)", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("no VANISHED in the resync");
                }
            });
            await Time("plain SELECT", 5, () => a.CommandAsync("SELECT Big"));
            await Time("FETCH 1:* (FLAGS)", 5, () => a.CommandAsync("FETCH 1:* (FLAGS)"));
            await Time("SEARCH FROM (warm)", 5, () => a.CommandAsync("SEARCH FROM \"Sender 7\""));
            await Time("SEARCH SUBJECT (warm)", 5, () => a.CommandAsync("SEARCH SUBJECT \"topic 13\""));
            await Time("SORT (DATE)", 5, () => a.CommandAsync("SORT (DATE) UTF-8 ALL"));
            await Time("SORT (SUBJECT)", 5, () => a.CommandAsync("SORT (SUBJECT) UTF-8 ALL"));
            await Time("THREAD REFERENCES", 3, () => a.CommandAsync("THREAD REFERENCES UTF-8 ALL"));
            await Time("SEARCH BODY (every message decrypted)", 1, () => a.CommandAsync("SEARCH BODY \"no such words anywhere\""));
            a.Dispose();
            Console.WriteLine($"  metadata cache: {Process.GetCurrentProcess().WorkingSet64 / (1024 * 1024)} MiB working set after the run");
            return 0;
        }
    }

    private static async Task Time(string label, int runs, Func<Task> action)
    {
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            await action();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine(runs == 1
            ? $"  {label,-42} {times[0],9:F0} ms"
            : $"  {label,-42} {times[runs / 2],9:F0} ms median (min {times[0]:F0}, max {times[^1]:F0}; {runs} runs)");
    }
}
