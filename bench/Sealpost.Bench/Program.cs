using System.Diagnostics;
using System.Globalization;
using Sealpost.Bench;
using Sealpost.Core.Addressing;
using Sealpost.Core.Configuration;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using Sealpost.Store.Sqlite;

// Sealpost benchmarks. Each prints its figures and the settings that produced them.
//   append: durable appends (group commit, synchronous=FULL) into N mailboxes.
// Usage: dotnet run -c Release --project bench/Sealpost.Bench -- append [--mailboxes 1] [--messages 5000]
//        [--size 5120] [--concurrency 16] [--data DIR] [--print-acks] [--large-every 0]

var argsList = args.ToList();
if (argsList.Count == 0 || argsList[0] is "-h" or "--help")
{
    Console.WriteLine("usage: Sealpost.Bench append [--mailboxes N] [--messages N] [--size BYTES] [--concurrency N] [--data DIR] [--print-acks] [--large-every N]");
    Console.WriteLine("       Sealpost.Bench vault [--mailbox-messages N]");
    Console.WriteLine("       Sealpost.Bench smtp [--connections 20] [--messages 100] [--size 5120] [--pipelined] [--postgres CONNECTION] [--dns HOST:PORT] [--warmup-seconds 15]");
    Console.WriteLine("       Sealpost.Bench imap-large [--messages 100000] [--postgres CONNECTION]");
    Console.WriteLine("       Sealpost.Bench login-storm [--users 100] [--connections 4]");
    Console.WriteLine("       Sealpost.Bench imap-memory --server PATH/sealpost.dll [--sessions 5000,19000] [--mode select|login|greeting|plain] [--tls13 | --aead-only] [--client-tls12]");
    Console.WriteLine("       Sealpost.Bench smtp-cold --server PATH [--connections 20] [--seconds 10] [--size 5120] [--nodes 1 --postgres CONNECTION] | [--whole --messages 10000]  (bench/smtp-cold.sh, bench/two-nodes.sh)");
    Console.WriteLine("       Sealpost.Bench smtp-memory [--messages 14] [--size-mib 40] [--budget-mib 512] [--bdat] [--server sealpost.dll]  (bench/smtp-memory.sh runs it)");
    Console.WriteLine("       Sealpost.Bench audit [--events 200000] [--producers 64] [--postgres CONNECTION]");
    Console.WriteLine("       Sealpost.Bench audit-overhead [--pairs 5] [--seconds 10] [--clients 20] [--group-commit-ms N] [--postgres CONNECTION]");
    Console.WriteLine("       Sealpost.Bench outbound --sink-port PORT --sink-counter FILE --dkim-key PEM [--connections 20] [--messages 100] [--size 5120]  (bench/outbound.sh runs it)");
    Console.WriteLine("       Sealpost.Bench api [--accounts 10000] [--seconds 15] [--clients 20]  (bench/api.sh runs it)");
    Console.WriteLine("       Sealpost.Bench imap [--sessions 20] [--seconds 10] [--messages 2000] [--big-mailbox 0] [--postgres CONNECTION]");
    Console.WriteLine("       Sealpost.Bench imap-stress [--users 100] [--clients 50] [--warmup 20] [--seconds 30] [--messages 30] [--server-cpu 0 | --unpinned] [--server sealpost.dll] [--postgres CS [--nodes 2]] [--no-reference] [--kept-open-only | --churn-only] [--cold 10]  (bench/imap-stress.sh, bench/two-nodes.sh run it)");
    return argsList.Count == 0 ? 2 : 0;
}

if (argsList[0] == "vault")
{
    var count = argsList.Count > 2 && argsList[1] == "--mailbox-messages" && int.TryParse(argsList[2], out var n) && n > 0 ? n : 10_000;
    return await VaultBenchmark.RunAsync(count);
}

if (argsList[0] == "smtp")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v > 0 ? v : fallback;
    var pg = argsList.IndexOf("--postgres") is var p and >= 0 && p + 1 < argsList.Count ? argsList[p + 1] : null;
    var dnsServer = argsList.IndexOf("--dns") is var d and >= 0 && d + 1 < argsList.Count ? argsList[d + 1] : null;
    return await SmtpBenchmark.RunAsync(Arg("--connections", 20), Arg("--messages", 100), Arg("--size", 5120), argsList.Contains("--pipelined"), pg, dnsServer, Arg("--warmup-seconds", 15));
}

if (argsList[0] == "api")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v > 0 ? v : fallback;
    return await ApiBenchmark.RunAsync(Arg("--accounts", 10_000), Arg("--seconds", 15), Arg("--clients", 20));
}

if (argsList[0] == "outbound")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v > 0 ? v : fallback;
    string Text(string name) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count ? argsList[i + 1] : throw new ArgumentException(name + " is required");
    return await OutboundBenchmark.RunAsync(Arg("--connections", 20), Arg("--messages", 100), Arg("--size", 5120), Arg("--sink-port", 0), Text("--sink-counter"), Text("--dkim-key"));
}

if (argsList[0] is "audit" or "audit-overhead")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v > 0 ? v : fallback;
    var pg = argsList.IndexOf("--postgres") is var p and >= 0 && p + 1 < argsList.Count ? argsList[p + 1] : null;
    return argsList[0] == "audit"
        ? await AuditBenchmark.AppendsAsync(Arg("--events", 200_000), Arg("--producers", 64), pg)
        : await AuditBenchmark.OverheadAsync(Arg("--pairs", 5), Arg("--seconds", 10), Arg("--clients", 20), pg,
            argsList.IndexOf("--group-commit-ms") is var g and >= 0 && g + 1 < argsList.Count && int.TryParse(argsList[g + 1], out var ms) && ms >= 0 ? ms : null);
}

if (argsList[0] == "imap-stress")
{
    int Opt(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v >= 0 ? v : fallback;
    var server = argsList.IndexOf("--server") is var sv and >= 0 && sv + 1 < argsList.Count ? argsList[sv + 1] : "src/Sealpost.Cli/bin/Release/net10.0/sealpost.dll";
    var pg = argsList.IndexOf("--postgres") is var sp and >= 0 && sp + 1 < argsList.Count ? argsList[sp + 1] : null;
    var nodes = Math.Max(1, Opt("--nodes", 1));
    if (nodes > 1 && pg is null)
    {
        Console.Error.WriteLine("error: --nodes above 1 needs --postgres (nodes share one database)");
        return 2;
    }

    return await ImapStressBenchmark.RunAsync(server, Opt("--users", 100), Opt("--clients", 50), Opt("--warmup", 20), Opt("--seconds", 30), Opt("--messages", 30),
        argsList.Contains("--unpinned") ? -1 : Opt("--server-cpu", 0), nodes, pg, reference: !argsList.Contains("--no-reference"),
        variants: argsList.Contains("--kept-open-only") ? [false] : argsList.Contains("--churn-only") ? [true] : [true, false], cold: Opt("--cold", 10));
}

if (argsList[0] == "imap-large")
{
    var count = argsList.IndexOf("--messages") is var im and >= 0 && im + 1 < argsList.Count && int.TryParse(argsList[im + 1], out var v) && v >= 1000 ? v : 100_000;
    var pg = argsList.IndexOf("--postgres") is var ip and >= 0 && ip + 1 < argsList.Count ? argsList[ip + 1] : null;
    return await ImapLargeMailboxBenchmark.RunAsync(count, pg);
}

if (argsList[0] == "login-storm")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v > 0 ? v : fallback;
    return await LoginStormBenchmark.RunAsync(Arg("--users", 100), Arg("--connections", 4));
}

if (argsList[0] == "imap-memory")
{
    var server = argsList.IndexOf("--server") is var sv and >= 0 && sv + 1 < argsList.Count ? argsList[sv + 1] : null;
    if (server is null || !File.Exists(server))
    {
        Console.Error.WriteLine("error: --server needs the path of a built sealpost.dll (bench/imap.sh builds it)");
        return 2;
    }

    var steps = argsList.IndexOf("--sessions") is var st and >= 0 && st + 1 < argsList.Count
        ? argsList[st + 1].Split(',').Select(x => int.TryParse(x, out var v) && v > 1 ? v : throw new ArgumentException("--sessions takes numbers above 1")).ToList()
        : [5000, 19000];
    var mode = argsList.IndexOf("--mode") is var md and >= 0 && md + 1 < argsList.Count ? argsList[md + 1] : "select";
    if (mode is not ("select" or "login" or "greeting" or "plain"))
    {
        Console.Error.WriteLine("error: --mode is select, login, greeting or plain");
        return 2;
    }

    return await ImapMemoryBenchmark.RunAsync(server, steps, mode, argsList.Contains("--tls13"), argsList.Contains("--aead-only"), argsList.Contains("--client-tls12"));
}

if (argsList[0] == "smtp-cold")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v > 0 ? v : fallback;
    var server = argsList.IndexOf("--server") is var sv and >= 0 && sv + 1 < argsList.Count ? argsList[sv + 1] : null;
    if (server is null || !File.Exists(server))
    {
        Console.Error.WriteLine("error: --server needs a published sealpost executable or sealpost.dll (bench/smtp-cold.sh publishes them)");
        return 2;
    }

    var pg = argsList.IndexOf("--postgres") is var p and >= 0 && p + 1 < argsList.Count ? argsList[p + 1] : null;
    var nodes = Arg("--nodes", 1);
    if (nodes > 1 && pg is null)
    {
        Console.Error.WriteLine("error: --nodes above 1 needs --postgres (nodes share one database)");
        return 2;
    }

    if (argsList.Contains("--whole"))
    {
        return await SmtpColdStartBenchmark.RunWholeAsync(server, Arg("--connections", 20), Arg("--messages", 10_000), Arg("--size", 5120));
    }

    return await SmtpColdStartBenchmark.RunAsync(server, Arg("--connections", 20), Arg("--seconds", 10), Arg("--size", 5120), nodes, pg);
}

if (argsList[0] == "smtp-memory")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v > 0 ? v : fallback;
    var server = argsList.IndexOf("--server") is var sv and >= 0 && sv + 1 < argsList.Count ? argsList[sv + 1] : "src/Sealpost.Cli/bin/Release/net10.0/sealpost.dll";
    if (!File.Exists(server))
    {
        Console.Error.WriteLine("error: --server needs the path of a built sealpost.dll (bench/smtp-memory.sh builds it)");
        return 2;
    }

    return await LargeMessageMemoryBenchmark.RunAsync(server, Arg("--messages", 14), Arg("--size-mib", 40), Arg("--budget-mib", 512), argsList.Contains("--bdat"));
}

if (argsList[0] == "imap")
{
    int Arg(string name, int fallback) => argsList.IndexOf(name) is var i and >= 0 && i + 1 < argsList.Count && int.TryParse(argsList[i + 1], out var v) && v >= 0 ? v : fallback;
    var pg = argsList.IndexOf("--postgres") is var p and >= 0 && p + 1 < argsList.Count ? argsList[p + 1] : null;
    return await ImapBenchmark.RunAsync(Math.Max(1, Arg("--sessions", 20)), Math.Max(1, Arg("--seconds", 10)), Math.Max(500, Arg("--messages", 2000)), Arg("--big-mailbox", 0), pg);
}

if (argsList[0] != "append")
{
    Console.Error.WriteLine($"error: unknown benchmark '{argsList[0]}' (known: append, audit, audit-overhead, vault, smtp, smtp-cold, smtp-memory, imap, imap-large, imap-memory, imap-stress, login-storm, api, outbound)");
    return 2;
}

try
{
    return await AppendBenchmark.RunAsync(Options.Parse(argsList.Skip(1).ToList()));
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine("error: " + ex.Message);
    return 2;
}

internal sealed record Options(int Mailboxes, long Messages, int Size, int Concurrency, string? Data, bool PrintAcks, int LargeEvery, string? Postgres = null)
{
    public static Options Parse(List<string> args)
    {
        var o = new Options(1, 5000, 5120, 16, null, false, 0);
        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"{args[i - 1]} needs a positive number");
            o = args[i] switch
            {
                "--mailboxes" => o with { Mailboxes = Int() },
                "--messages" => o with { Messages = Int() },
                "--size" => o with { Size = Int() },
                "--concurrency" => o with { Concurrency = Int() },
                "--large-every" => o with { LargeEvery = Int() },
                "--data" => o with { Data = Next() },
                "--print-acks" => o with { PrintAcks = true },
                "--postgres" => o with { Postgres = Next() },
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
        }

        return o;
    }
}

internal static class AppendBenchmark
{
    public const int LargeSize = 200_000;

    public static async Task<int> RunAsync(Options o)
    {
        var ownsFolder = o.Data is null;
        var folder = o.Data ?? Path.Combine(Path.GetTempPath(), "sealpost-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using ISealpostStore store = o.Postgres is { } connection
                ? await Sealpost.Store.Postgres.PostgresStore.OpenAsync(connection)
                : await SqliteStore.OpenAsync(folder, new StoreOptions());
            var mailboxes = await PrepareAsync(store, o.Mailboxes);
            if (!o.PrintAcks)
            {
                var how = store.Kind == "sqlite" ? "WAL, synchronous=FULL, group commit" : "synchronous_commit=on, group commit of up to 64 deliveries";
                Console.WriteLine($"append: store {store.Kind} ({how}), {o.Messages} messages of {o.Size} B into {o.Mailboxes} mailbox(es), concurrency {o.Concurrency}");
            }

            var latencies = new double[o.Messages];
            long next = -1;
            var output = o.PrintAcks ? Console.Out : null;
            var outputLock = new Lock();
            GC.Collect();
            var startAllocated = GC.GetTotalAllocatedBytes();
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(async () =>
            {
                long i;
                while ((i = Interlocked.Increment(ref next)) < o.Messages)
                {
                    var size = o.LargeEvery > 0 && i % o.LargeEvery == 0 ? LargeSize : o.Size;
                    var content = BenchMessages.Content(i, size);
                    var mailbox = mailboxes[(int)(i % mailboxes.Count)];
                    var started = Stopwatch.GetTimestamp();
                    var result = await store.Mail.DeliverAsync(NewBlob.FromBytes(content),
                        [new NewMessage(mailbox, MessageFlags.None, [], DateTimeOffset.UtcNow)]);
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    if (output is not null)
                    {
                        lock (outputLock)
                        {
                            output.WriteLine($"ack {i} {size} {result[0].MailboxId} {result[0].Uid}");
                            output.Flush();
                        }
                    }
                }
            })));
            clock.Stop();

            if (!o.PrintAcks)
            {
                Array.Sort(latencies);
                var seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine($"  throughput   {o.Messages / seconds:F0} messages/s, {o.Messages * (double)o.Size / seconds / 1048576:F1} MiB/s ({seconds:F2} s)");
                Console.WriteLine($"  latency      p50 {P(latencies, 0.50):F2} ms, p95 {P(latencies, 0.95):F2} ms, p99 {P(latencies, 0.99):F2} ms, max {latencies[^1]:F2} ms");
                Console.WriteLine($"  memory       peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MiB, allocated {(GC.GetTotalAllocatedBytes() - startAllocated) / (double)o.Messages / 1024:F1} KiB/message");
            }

            return 0;
        }
        finally
        {
            if (ownsFolder && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static double P(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];

    /// <summary>One account per mailbox (its INBOX), as deliveries to many people look.</summary>
    private static async Task<List<long>> PrepareAsync(ISealpostStore store, int count)
    {
        // Several bench processes may prepare the same store at once: a conflict means another made it first.
        var tenant = await Retry(async () => await store.Directory.FindTenantAsync("bench") ?? await store.Directory.CreateTenantAsync("bench", "Bench"));
        var domainName = DomainName.Parse("bench.example");
        var domain = await Retry(async () => await store.Directory.FindDomainAsync(domainName) ?? await store.Directory.AddDomainAsync(tenant.Id, domainName));
        var result = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var address = MailAddress.Parse($"user{i}@bench.example");
            var account = await Retry(async () => await store.Directory.FindAccountAsync(address)
                ?? await store.Directory.CreateAccountAsync(new NewAccount(domain.Id, address, "u", 0, AccountRoles.User)));
            var index = i;
            var inbox = await Retry(async () => await store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox)
                ?? await store.Mail.CreateMailboxAsync(account.Id, 0, BitConverter.GetBytes(index), "INBOX"u8.ToArray(), MailboxRole.Inbox));
            result.Add(inbox.Id);
        }

        return result;
    }

    private static async Task<T> Retry<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Sealpost.Core.SealpostException ex) when (ex.Kind == Sealpost.Core.ErrorKind.Conflict)
        {
            return await action();
        }
    }
}
