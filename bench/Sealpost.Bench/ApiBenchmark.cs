using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Server;

namespace Sealpost.Bench;

/// <summary>
/// The admin API's figures (issue: ≥ 2,000 authenticated reads/s with 20 clients; 10,000 accounts
/// listed in pages of 100 with p99 under 100 ms per page), measured as outsiders measure: wrk over
/// TLS for the read rate, HttpClient walking the cursor for page latency, cold right after start
/// and again warm. The token is checked by a keyed-hash lookup on every request.
/// </summary>
internal static partial class ApiBenchmark
{
    public static async Task<int> RunAsync(int accounts, int seconds, int clients)
    {
        var started = Stopwatch.StartNew();
        await using var bench = await BenchServer.StartAsync("api", null);
        var runtime = bench.Server.Runtime;
        var uri = bench.Server.HttpsEndpoints[0];
        Console.WriteLine($"api: server started cold in {started.ElapsedMilliseconds} ms ({Environment.ProcessorCount} cores)");

        // 10,000 accounts in one department's domain: directory rows only (listing never opens keys).
        var seed = Stopwatch.StartNew();
        var tenant = await runtime.Store.Directory.CreateTenantAsync("bench", "Bench department");
        var domain = await runtime.Store.Directory.AddDomainAsync(tenant.Id, DomainName.Parse("dept.example"));
        for (var i = 0; i < accounts; i++)
        {
            await runtime.Store.Directory.CreateAccountAsync(new NewAccount(domain.Id, MailAddress.Parse($"user{i:D5}@dept.example"), $"User {i}", 1L << 30, AccountRoles.User));
        }

        Console.WriteLine($"api: {accounts} accounts seeded in {seed.Elapsed.TotalSeconds:0.0} s");
        var token = await AdministratorTokenAsync(runtime);

        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        })
        { BaseAddress = uri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var cold = await WalkPagesAsync(http, passes: 1);
        Report("pages cold (first walk after start)", cold);

        var me = RunWrk(uri, token, "/api/v1/me", seconds, clients);
        var one = RunWrk(uri, token, "/api/v1/accounts/user04242%40dept.example", seconds, clients);
        var page = RunWrk(uri, token, "/api/v1/accounts?domain=dept.example&limit=100", seconds, clients);

        var warm = await WalkPagesAsync(http, passes: 3);
        Report("pages warm (3 walks)", warm);

        Console.WriteLine($"SEALPOST_API_ME_RPS={me.Rps.ToString("0", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"SEALPOST_API_ACCOUNT_RPS={one.Rps.ToString("0", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"SEALPOST_API_PAGE_RPS={page.Rps.ToString("0", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"SEALPOST_API_PAGE_P99_COLD_MS={Percentile(cold, 0.99).ToString("0.0", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"SEALPOST_API_PAGE_P99_WARM_MS={Percentile(warm, 0.99).ToString("0.0", CultureInfo.InvariantCulture)}");
        return 0;
    }

    /// <summary>A platform administrator's API token, stored as the server stores them (keyed hash only).</summary>
    private static async Task<string> AdministratorTokenAsync(SealpostRuntime runtime)
    {
        var admin = await runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "bench-admin@example.test", "bench-admin-passphrase", null, 0,
            AccountRoles.User | AccountRoles.PlatformAdmin);
        var secret = "spt_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var key = await runtime.Keystore.GetOrCreateSecretAsync(SealpostRuntime.ApiLookupSecretName, 32);
        await runtime.Store.Directory.CreateApiCredentialAsync(
            new NewApiCredential(admin.Id, ApiCredentialKind.Token, "bench", admin.Roles, true, HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(secret)), DateTimeOffset.UtcNow.AddHours(2)),
            DateTimeOffset.UtcNow);
        return secret;
    }

    private static async Task<List<double>> WalkPagesAsync(HttpClient http, int passes)
    {
        var times = new List<double>();
        for (var pass = 0; pass < passes; pass++)
        {
            string? cursor = null;
            var listed = 0;
            do
            {
                var watch = Stopwatch.StartNew();
                using var response = await http.GetAsync("/api/v1/accounts?domain=dept.example&limit=100" + (cursor is null ? "" : "&cursor=" + cursor));
                var body = await response.Content.ReadAsByteArrayAsync();
                times.Add(watch.Elapsed.TotalMilliseconds);
                response.EnsureSuccessStatusCode();
                using var doc = JsonDocument.Parse(body);
                listed += doc.RootElement.GetProperty("items").GetArrayLength();
                cursor = doc.RootElement.TryGetProperty("next", out var next) ? next.GetString() : null;
            }
            while (cursor is not null);

            if (listed < 10_000 && pass == 0)
            {
                Console.WriteLine($"api: a walk listed {listed} accounts");
            }
        }

        return times;
    }

    private static void Report(string label, List<double> times) =>
        Console.WriteLine($"api: {label}: {times.Count} pages of 100, p50 {Percentile(times, 0.5):0.0} ms, p99 {Percentile(times, 0.99):0.0} ms, max {times.Max():0.0} ms");

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private sealed record WrkResult(double Rps, string Latency);

    /// <summary>wrk (Debian package) with 2 threads and <paramref name="clients"/> connections, TLS, keep-alive.</summary>
    private static WrkResult RunWrk(Uri server, string token, string path, int seconds, int clients)
    {
        var start = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "-t2", $"-c{clients}", $"-d{seconds}s", "--latency", "-H", $"Authorization: Bearer {token}", new Uri(server, path).ToString() },
        };
        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start (bash scripts/deps.sh installs it)");
        var output = wrk.StandardOutput.ReadToEnd();
        wrk.WaitForExit();
        var rps = RequestsPerSecond().Match(output) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var non2xx = Non2xx().Match(output) is { Success: true } n ? n.Groups[1].Value : "0";
        var p50 = Latency("50%").Match(output).Groups[1].Value;
        var p99 = Latency("99%").Match(output).Groups[1].Value;
        Console.WriteLine($"api: wrk GET {path}: {rps:0} requests/s, p50 {p50}, p99 {p99}, non-2xx {non2xx} ({clients} connections, {seconds} s)");
        return new WrkResult(rps, p99);
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();

    private static Regex Latency(string percentile) => new($@"^\s+{Regex.Escape(percentile)}\s+(\S+)", RegexOptions.Multiline);
}
