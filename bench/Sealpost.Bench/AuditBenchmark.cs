using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Audit;
using Sealpost.Crypto.Primitives;
using Sealpost.Domain.Audit;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Store.Postgres;
using Sealpost.Store.Sqlite;

namespace Sealpost.Bench;

/// <summary>
/// What the audit trail costs. <c>audit</c>: events/s through the trail (group commit, durable) with
/// many producers each waiting for its own event, as logins do, on SQLite and on PostgreSQL.
/// <c>audit-overhead</c>: IMAP login churn and SMTP delivery on a real server, audit on
/// (<c>Audit:Store=default</c>) and off (<c>discard-benchmark-only</c>) in alternating pairs in one run;
/// the median on/off ratio and its spread.
/// </summary>
internal static class AuditBenchmark
{
    public static async Task<int> AppendsAsync(int events, int producers, string? postgres)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sealpost-bench-audit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            IAuditStore store = postgres is null
                ? await SqliteAuditStore.OpenAsync(folder, 5000)
                : await PostgresAuditStore.OpenAsync(PostgresAuditStore.DeriveConnectionString(postgres), 5000);
            var kind = postgres is null ? "sqlite (WAL; login records synchronous=NORMAL, administrative ones FULL)" : "postgres (synchronous_commit=on, advisory lock per batch)";
            await using var trail = new AuditTrail(store, new AuditSpool(folder, 1000), new AuditSigner(new byte[32]), "bench", TimeSpan.FromHours(1), NullLogger.Instance);
            Console.WriteLine($"audit: {events} events, {producers} producers each awaiting its own durable event, store {kind}");
            for (var round = 0; round < 2; round++)
            {
                var stopwatch = Stopwatch.StartNew();
                var next = -1;
                await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < events)
                    {
                        await trail.RecordAsync(new AuditEvent(DateTimeOffset.UtcNow, $"user{i % 1000}@bench.example", "user", "127.0.0.1", "imap",
                            AuditAction.LoginSucceeded, $"user{i % 1000}@bench.example", AuditOutcome.Success, "PLAIN", $"c{i}"), AuditDurability.StoreOrSpool);
                    }
                })));
                Console.WriteLine($"  {(round == 0 ? "cold" : "warm")}  {events / stopwatch.Elapsed.TotalSeconds:F0} events/s ({stopwatch.Elapsed.TotalSeconds:F2} s)");
            }

            var verify = Stopwatch.StartNew();
            var result = await AuditVerifier.VerifyAsync(store, trail.PublicKey, []);
            Console.WriteLine($"  verify {result.Records} records: {(result.Ok ? "ok" : result.Message)} in {verify.Elapsed.TotalSeconds:F2} s");
            return result.Ok ? 0 : 1;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static async Task<int> OverheadAsync(int pairs, int seconds, int clients, string? postgres, int? groupCommitMilliseconds = null)
    {
        _groupCommitMilliseconds = groupCommitMilliseconds;
        Console.WriteLine($"audit-overhead: {pairs} on/off pairs, {seconds} s per measurement after {seconds} s of warm-up, {clients} clients; store {(postgres is null ? "sqlite" : "postgres")}; audit group commit {(groupCommitMilliseconds is { } g ? $"{g} ms" : "default")}");
        var imap = new List<(double On, double Off)>();
        var smtp = new List<(double On, double Off)>();
        // One throw-away measurement of each first: the process's JIT warms up on it, not on pair 1.
        foreach (var on in new[] { true, false })
        {
            var cold = await MeasureAsync(on, seconds, clients, postgres);
            Console.WriteLine($"  cold start, audit {(on ? "on " : "off")}: IMAP login churn {cold.Imap:F0} logins/s, SMTP {cold.Smtp:F0} messages/s (not counted)");
        }

        for (var pair = 0; pair < pairs; pair++)
        {
            // Alternate which half goes first, so drift in the machine's speed does not favour one.
            var order = pair % 2 == 0 ? new[] { true, false } : [false, true];
            var rates = new Dictionary<bool, (double Imap, double Smtp)>();
            foreach (var on in order)
            {
                rates[on] = await MeasureAsync(on, seconds, clients, postgres);
                Console.WriteLine($"  pair {pair + 1} audit {(on ? "on " : "off")}: IMAP login churn {rates[on].Imap:F0} logins/s, SMTP {rates[on].Smtp:F0} messages/s");
            }

            imap.Add((rates[true].Imap, rates[false].Imap));
            smtp.Add((rates[true].Smtp, rates[false].Smtp));
        }

        Report("IMAP login churn", imap);
        Report("SMTP delivery", smtp);
        return 0;
    }

    private static int? _groupCommitMilliseconds;

    private static void Trace(string what)
    {
        if (Environment.GetEnvironmentVariable("SEALPOST_BENCH_TRACE") is not null)
        {
            Console.Error.WriteLine($"    {DateTime.UtcNow:HH:mm:ss.fff} {what}");
        }
    }

    private static void Report(string what, List<(double On, double Off)> pairs)
    {
        var ratios = pairs.Select(p => p.On / p.Off).Order().ToList();
        var median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[ratios.Count / 2 - 1] + ratios[ratios.Count / 2]) / 2;
        Console.WriteLine($"  {what}: on/off median {median:F3}, spread {ratios[0]:F3}..{ratios[^1]:F3} (ratios {string.Join(", ", ratios.Select(r => r.ToString("F3")))})");
    }

    private static async Task<(double Imap, double Smtp)> MeasureAsync(bool audit, int seconds, int clients, string? postgres)
    {
        string? database = null;
        if (postgres is not null)
        {
            database = await FreshDatabaseAsync(postgres);
        }

        await using var bench = await BenchServer.StartAsync("audit", database, options =>
        {
            options.Audit.Store = audit ? "default" : "discard-benchmark-only";
            if (_groupCommitMilliseconds is { } ms)
            {
                options.Audit.GroupCommitMilliseconds = ms;
            }

            options.Limits.MaxConnectionsPerIp = clients * 4 + 10;
            options.Limits.MaxConnections = clients * 4 + 10;
            options.Imap.MaxSessionsPerAccount = clients * 4;
        });
        var server = bench.Server;
        Trace("server started");
        var imapEndpoint = server.ImapEndpoint(ImapListenerKind.StartTls);
        var smtpEndpoint = server.SmtpEndpoint(SmtpListenerKind.Inbound);
        await ChurnAsync(imapEndpoint, clients, TimeSpan.FromSeconds(seconds)); // warm-up, not counted
        Trace("imap warm");
        var logins = await ChurnAsync(imapEndpoint, clients, TimeSpan.FromSeconds(seconds));
        Trace("imap measured");
        await SmtpBenchmark.LoadAsync(smtpEndpoint, clients, 20, 5120, pipelined: false);
        var delivered = 0;
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            delivered += (await SmtpBenchmark.LoadAsync(smtpEndpoint, clients, 20, 5120, pipelined: false)).Latencies.Length;
        }

        Trace("smtp measured");
        return (logins / (double)seconds, delivered / stopwatch.Elapsed.TotalSeconds);
    }

    /// <summary>Login churn as imaptest runs it: connect, LOGIN, LOGOUT, close, again, by several clients at once.</summary>
    private static async Task<int> ChurnAsync(IPEndPoint endpoint, int clients, TimeSpan duration)
    {
        var count = 0;
        var deadline = DateTime.UtcNow + duration;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var user = c % 2 == 0 ? "alice@example.test alice-dev-password" : "bob@example.test bob-dev-password";
            while (DateTime.UtcNow < deadline)
            {
                using var client = new TcpClient { NoDelay = true };
                await client.ConnectAsync(endpoint);
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII);
                await reader.ReadLineAsync();
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"a LOGIN {user}\r\n"));
                string? line;
                while ((line = await reader.ReadLineAsync()) is not null && !line.StartsWith("a ", StringComparison.Ordinal))
                {
                }

                if (line is null || !line.StartsWith("a OK", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("login failed: " + line);
                }

                await stream.WriteAsync("b LOGOUT\r\n"u8.ToArray());
                while ((line = await reader.ReadLineAsync()) is not null && !line.StartsWith("b ", StringComparison.Ordinal))
                {
                }

                Interlocked.Increment(ref count);
            }
        })));
        return count;
    }

    private static async Task<string> FreshDatabaseAsync(string postgres)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(postgres);
        var name = "auditbench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(postgres) { Database = "postgres" }.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        builder.Database = name;
        return builder.ConnectionString;
    }
}
