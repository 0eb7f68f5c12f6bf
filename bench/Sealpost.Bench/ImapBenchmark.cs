using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Imap;
using Sealpost.Server.Hosting;

namespace Sealpost.Bench;

/// <summary>
/// IMAP load: N sessions run a mixed loop (select, fetch envelopes and a body, search, store flags,
/// append, expunge) for a fixed time, with sessions kept open or logging in and out every round
/// (login churn). Prints operations/s and p50/p99 per command, then the time SELECT takes on a
/// large mailbox. Raw sockets on loopback: the client costs little next to the server.
/// </summary>
internal static class ImapBenchmark
{
    public static async Task<int> RunAsync(int sessions, int seconds, int mailboxMessages, int bigMailbox, string? postgres)
    {
        await using var bench = await BenchServer.StartAsync("imap", postgres, options =>
        {
            options.Imap.MaxSessionsPerAccount = sessions + 10;
            options.Limits.MaxConnectionsPerIp = sessions + 10;
        });
        var server = bench.Server;
        {
            var r = server.Runtime;
            var (account, _) = (await r.Directory.LoginAsync("alice@example.test", "alice-dev-password"))!.Value;
            var inbox = (await r.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!;
            await FillAsync(r.Delivery, account.Id, inbox.Id, mailboxMessages);
            var endpoint = server.ImapEndpoint(ImapListenerKind.StartTls);
            Console.WriteLine($"imap: {sessions} sessions for {seconds} s each mode, INBOX of {mailboxMessages} messages, store {r.Store.Kind}, sealed storage, plain loopback (no TLS)");
            await LoadAsync(endpoint, sessions, 2, churn: false); // warm-up
            var ours = new Dictionary<bool, double>();
            foreach (var churn in new[] { false, true })
            {
                var stats = await LoadAsync(endpoint, sessions, seconds, churn);
                ours[churn] = stats.Operations / (double)seconds;
                Print("sealpost, " + (churn ? "login churn (login..logout every round)" : "sessions kept open"), stats, seconds);
            }

            await CompareWithDovecotAsync(sessions, seconds, mailboxMessages, ours);
            await IdleLatencyAsync(endpoint, r.Delivery, account.Id, inbox.Id);

            if (bigMailbox > 0)
            {
                var big = await r.Mailboxes.CreateAsync(account.Id, (await r.Directory.LoginAsync("alice@example.test", "alice-dev-password"))!.Value.Session.Names, "Big");
                var filled = Stopwatch.StartNew();
                await FillAsync(r.Delivery, account.Id, big.Id, bigMailbox);
                Console.WriteLine($"  filled a {bigMailbox}-message mailbox in {filled.Elapsed.TotalSeconds:F1} s");
                var client = await Client.ConnectAsync(endpoint);
                await client.CommandAsync("LOGIN alice@example.test alice-dev-password");
                var times = new List<double>();
                for (var i = 0; i < 5; i++)
                {
                    var sw = Stopwatch.StartNew();
                    await client.CommandAsync("SELECT Big");
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }

                times.Sort();
                Console.WriteLine($"  SELECT of {bigMailbox} messages: median {times[2]:F0} ms (min {times[0]:F0}, max {times[^1]:F0}; 5 runs)");
            }

            Console.WriteLine($"  server working set {Process.GetCurrentProcess().WorkingSet64 / (1024 * 1024)} MiB (server and client in one process)");
            return 0;
        }
    }

    /// <summary>From a delivery's commit to the EXISTS an IDLE session receives (the change feed's latency).</summary>
    private static async Task IdleLatencyAsync(IPEndPoint endpoint, SealedDelivery delivery, long accountId, long mailboxId)
    {
        var client = await Client.ConnectAsync(endpoint);
        await client.CommandAsync("LOGIN alice@example.test alice-dev-password");
        await client.CommandAsync("SELECT INBOX");
        await client.SendAsync("i IDLE\r\n");
        await client.ReadLineAsync(); // + idling
        var afterCommit = new List<double>();
        var endToEnd = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            var start = Stopwatch.StartNew();
            await delivery.DeliverAsync(Encoding.ASCII.GetBytes(BenchMessage(i)), [new DeliveryTarget(accountId, mailboxId)], DateTimeOffset.UtcNow);
            var committed = start.Elapsed.TotalMilliseconds;
            string line;
            do
            {
                line = await client.ReadLineAsync();
            }
            while (!line.EndsWith(" EXISTS", StringComparison.Ordinal));
            endToEnd.Add(start.Elapsed.TotalMilliseconds);
            afterCommit.Add(start.Elapsed.TotalMilliseconds - committed);
        }

        afterCommit.Sort();
        endToEnd.Sort();
        Console.WriteLine($"  IDLE wake-up: commit -> EXISTS p50 {afterCommit[25]:F2} ms, p99 {afterCommit[49]:F2} ms; delivery start -> EXISTS p50 {endToEnd[25]:F2} ms, p99 {endToEnd[49]:F2} ms (50 deliveries)");
        client.Dispose();
    }

    private static readonly string Body = string.Concat(Enumerable.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 80));

    private static string BenchMessage(int i) =>
        $"From: Sender {i % 50} <s{i % 50}@example.org>\r\nTo: alice@example.test\r\nSubject: Report {i} on topic {i % 97}\r\nDate: Tue, 03 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{i}@bench>\r\n\r\n{Body}";

    internal static async Task FillAsync(SealedDelivery delivery, long accountId, long mailboxId, int count)
    {
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await delivery.DeliverAsync(Encoding.ASCII.GetBytes(BenchMessage(i)), [new DeliveryTarget(accountId, mailboxId)], DateTimeOffset.UtcNow, ct));
    }

    /// <summary>
    /// The same load against Dovecot (apt dovecot-imapd) on loopback, same messages in a Maildir, in its
    /// default process mode (a login process per connection) and its high-performance mode (login
    /// processes serving many connections); the ratio is to the faster of the two.
    /// </summary>
    private static async Task CompareWithDovecotAsync(int sessions, int seconds, int messages, Dictionary<bool, double> ours)
    {
        if (!File.Exists("/usr/sbin/dovecot"))
        {
            Console.WriteLine("  dovecot      not installed (apt dovecot-imapd, scripts/deps.sh); no comparison");
            return;
        }

        var best = new Dictionary<bool, double> { [false] = 0, [true] = 0 };
        foreach (var highPerformance in new[] { false, true })
        {
            await using var dovecot = await ReferenceDovecot.StartAsync(messages, highPerformance, sessions, BenchMessage);
            await LoadAsync(dovecot.Endpoint, sessions, 2, churn: false); // warm-up: index the Maildir
            foreach (var churn in new[] { false, true })
            {
                var stats = await LoadAsync(dovecot.Endpoint, sessions, seconds, churn);
                best[churn] = Math.Max(best[churn], stats.Operations / (double)seconds);
                Print($"dovecot {(highPerformance ? "high-performance" : "default")} mode, {(churn ? "login churn" : "sessions kept open")}", stats, seconds);
            }
        }

        foreach (var churn in new[] { false, true })
        {
            Console.WriteLine($"  ratio ({(churn ? "login churn" : "sessions kept open")}): sealpost {ours[churn]:F0} / faster dovecot {best[churn]:F0} = {ours[churn] / best[churn]:F2}");
        }
    }

    private const string Appended = "Subject: bench append\r\nFrom: a@example.org\r\n\r\nabcdefghijklmn\r\n";

    private sealed record Stats(Dictionary<string, List<double>> Latencies, long Operations);

    private static async Task<Stats> LoadAsync(IPEndPoint endpoint, int sessions, int seconds, bool churn)
    {
        var latencies = new Dictionary<string, List<double>>();
        long operations = 0;
        var until = DateTime.UtcNow.AddSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, sessions).Select(async n =>
        {
            var mine = new Dictionary<string, List<double>>();
            var random = new Random(n);
            Client? client = null;
            async Task Timed(string name, string command)
            {
                var sw = Stopwatch.StartNew();
                await client!.CommandAsync(command);
                (mine.TryGetValue(name, out var list) ? list : mine[name] = []).Add(sw.Elapsed.TotalMilliseconds);
                Interlocked.Increment(ref operations);
            }

            while (DateTime.UtcNow < until)
            {
                if (client is null)
                {
                    client = await Client.ConnectAsync(endpoint);
                    await Timed("LOGIN", "LOGIN alice@example.test alice-dev-password");
                }

                await Timed("SELECT", "SELECT INBOX");
                var first = random.Next(1, 400);
                await Timed("FETCH envelopes", $"FETCH {first}:{first + 19} (UID FLAGS ENVELOPE)");
                await Timed("FETCH body", $"FETCH {first} BODY.PEEK[]");
                await Timed("SEARCH", $"SEARCH SUBJECT \"topic {random.Next(97)}\"");
                await Timed("STORE", $"STORE {first}:{first + 4} +FLAGS (\\Seen)");
                await Timed("APPEND", $"APPEND INBOX (\\Deleted) {{{Appended.Length}+}}\r\n{Appended}");
                await Timed("EXPUNGE", "EXPUNGE");
                if (churn)
                {
                    await Timed("LOGOUT", "LOGOUT");
                    client.Dispose();
                    client = null;
                }
            }

            client?.Dispose();
            lock (latencies)
            {
                foreach (var (name, list) in mine)
                {
                    (latencies.TryGetValue(name, out var all) ? all : latencies[name] = []).AddRange(list);
                }
            }
        }));
        return new Stats(latencies, operations);
    }

    private static void Print(string label, Stats stats, int seconds)
    {
        Console.WriteLine($"  {label}: {stats.Operations / (double)seconds:F0} operations/s");
        foreach (var (name, list) in stats.Latencies.OrderBy(e => e.Key))
        {
            list.Sort();
            Console.WriteLine($"    {name,-16} {list.Count / (double)seconds,8:F0}/s   p50 {list[list.Count / 2],7:F2} ms   p99 {list[(int)(list.Count * 0.99)],7:F2} ms");
        }
    }

    /// <summary>A minimal IMAP client: numbered tags, reads up to the tagged line, skips literals by their length.</summary>
    internal sealed class Client : IDisposable
    {
        private readonly TcpClient _tcp = new() { NoDelay = true };
        private NetworkStream _stream = null!;
        private byte[] _buffer = new byte[1 << 16];
        private int _start;
        private int _end;
        private int _tag;

        public static async Task<Client> ConnectAsync(IPEndPoint endpoint)
        {
            var c = new Client();
            await c._tcp.ConnectAsync(endpoint);
            c._stream = c._tcp.GetStream();
            await c.LineAsync(); // greeting
            return c;
        }

        /// <summary>Sends a command and returns its untagged responses (literal contents skipped); throws unless it ends in OK.</summary>
        public async Task<string> CommandAsync(string command)
        {
            var tag = "t" + ++_tag;
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(tag + " " + command + "\r\n"));
            var text = new StringBuilder();
            while (true)
            {
                var line = await LineAsync();
                if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                {
                    if (!line.StartsWith(tag + " OK", StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException($"{command.Split(' ')[0]}: {line}");
                    }

                    return text.ToString();
                }

                if (text.Length < 1 << 20)
                {
                    text.Append(line).Append('\n');
                }
            }
        }

        public Task SendAsync(string text) => _stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

        public Task<string> ReadLineAsync() => LineAsync();

        private async Task<string> LineAsync()
        {
            while (true)
            {
                var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (lf >= 0)
                {
                    var line = Encoding.ASCII.GetString(_buffer, _start, lf - _start).TrimEnd('\r');
                    _start = lf + 1;
                    if (line.EndsWith('}') && line.LastIndexOf('{') is var open and >= 0 && int.TryParse(line.AsSpan(open + 1, line.Length - open - 2), out var size))
                    {
                        await SkipAsync(size);
                        return line + await LineAsync();
                    }

                    return line;
                }

                await FillAsync();
            }
        }

        private async Task SkipAsync(int size)
        {
            while (size > 0)
            {
                if (_start == _end)
                {
                    await FillAsync();
                }

                var n = Math.Min(size, _end - _start);
                _start += n;
                size -= n;
            }
        }

        private async Task FillAsync()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2); // a long response line (SORT of 100,000 messages)
            }

            var n = await _stream.ReadAsync(_buffer.AsMemory(_end));
            if (n == 0)
            {
                throw new EndOfStreamException("server closed the connection");
            }

            _end += n;
        }

        public void Dispose() => _tcp.Dispose();
    }
}
