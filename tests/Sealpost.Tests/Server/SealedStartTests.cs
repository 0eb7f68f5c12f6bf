using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Sealpost.Crypto.Primitives;
using Sealpost.Server.Hosting;
using Sealpost.Server.Unseal;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>A production folder whose master key is split among officers: init, the sealed server, unseal.</summary>
internal static class SealedFolders
{
    /// <summary>A production folder sealed by k-of-n shares made by the real init command; the shares as printed.</summary>
    public static async Task<(CliRunner Cli, IReadOnlyList<string> Shares)> InitAsync(TempFolder folder, int shares, int threshold)
    {
        var (cli, printed, _) = await InitAsync(folder, shares, threshold, "shamir");
        return (cli, printed);
    }

    /// <summary>The same with an auto-unseal provider (its settings in <paramref name="settings"/>); init's whole output too.</summary>
    public static async Task<(CliRunner Cli, IReadOnlyList<string> Shares, string Output)> InitAsync(TempFolder folder, int shares, int threshold, string provider, params string[] settings)
    {
        var cli = new CliRunner(folder.Sub("prod"));
        var (publicFile, _) = TestOptions.RecoveryKey(folder.Path);
        var result = await cli.OkAsync(["init", "--recovery-public-key", publicFile, "--unseal", provider, "--shares", shares.ToString(), "--threshold", threshold.ToString(), .. settings]);
        return (cli, SharesIn(result.Out), result.Out);
    }

    public static IReadOnlyList<string> SharesIn(string output) =>
        output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("share ", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]).ToList();

    public static ChildProcess Serve(TempFolder folder, string data, IEnumerable<string>? extra = null)
    {
        var cert = folder.Sub("cert.pem");
        var key = folder.Sub("key.pem");
        if (!File.Exists(cert))
        {
            Sealpost.Server.Tls.DevCertificate.Create(cert, key, "localhost");
        }

        return ChildProcess.Start("sealpost",
        [
            "serve", "--data", data, .. TestOptions.LoopbackListeners,
            "--set", "Tls:Certificates:0:CertificateFile=" + cert, "--set", "Tls:Certificates:0:KeyFile=" + key, .. extra ?? [],
        ]);
    }

    /// <summary>The endpoint a sealed server printed for one listener label.</summary>
    public static IPEndPoint Listener(ChildProcess server, string label)
    {
        var line = server.Lines.Single(l => l.TrimStart().StartsWith(label, StringComparison.Ordinal));
        return IPEndPoint.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]);
    }

    public static async Task<string> GreetingAsync(IPEndPoint endpoint)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) ?? "";
    }

    /// <summary>The master key k of the printed shares rebuild (checked against the folder's set).</summary>
    public static byte[] MasterKey(string data, params string[] shares)
    {
        var set = ShareSet.Load(data)!;
        var masterKey = Shamir.Combine(shares.Select(set.Check).ToList());
        Assert.True(set.OpensWith(masterKey));
        return masterKey;
    }

    public static HttpClient Https() => new(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
}

/// <summary>One server kept sealed (3 of 4 shares; at most 2 are ever given): what it answers, which shares it refuses.</summary>
public sealed class SealedServerFixture : IAsyncLifetime
{
    public TempFolder Folder { get; } = new();
    public CliRunner Cli { get; private set; } = null!;
    public IReadOnlyList<string> Shares { get; private set; } = [];
    public ChildProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (Cli, Shares) = await SealedFolders.InitAsync(Folder, shares: 4, threshold: 3);
        Server = SealedFolders.Serve(Folder, Cli.DataDirectory);
        await Server.WaitForLineAsync(l => l.TrimStart().StartsWith("imap starttls", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        Folder.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class SealedServerTests(SealedServerFixture fixture) : IClassFixture<SealedServerFixture>
{
    [Theory]
    [InlineData("smtp inbound", "421 4.3.0 ")]
    [InlineData("smtp submission", "421 4.3.0 ")]
    [InlineData("imap starttls", "* BYE [UNAVAILABLE] ")]
    public async Task A_sealed_server_greets_on_its_starttls_ports_with_a_temporary_refusal(string label, string expected)
    {
        var greeting = await SealedFolders.GreetingAsync(SealedFolders.Listener(fixture.Server, label));
        Assert.StartsWith(expected, greeting);
        Assert.Contains("sealed", greeting);
    }

    [Fact]
    public async Task A_sealed_server_answers_health_with_503_sealed()
    {
        var https = SealedFolders.Listener(fixture.Server, "https");
        using var http = SealedFolders.Https();
        using var response = await http.GetAsync($"https://{https}/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var health = await response.Content.ReadFromJsonAsync<HealthReport>();
        Assert.Equal("sealed", health!.Status);
        Assert.StartsWith("sealed: ", health.Keystore);
    }

    [Theory]
    [InlineData("/health/live", HttpStatusCode.OK)]
    [InlineData("/health/ready", HttpStatusCode.ServiceUnavailable)]
    public async Task A_sealed_server_is_live_but_not_ready(string path, HttpStatusCode expected)
    {
        var https = SealedFolders.Listener(fixture.Server, "https");
        using var http = SealedFolders.Https();
        using var response = await http.GetAsync($"https://{https}{path}");
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public void A_sealed_server_binds_no_implicit_tls_port_and_its_socket_is_private()
    {
        Assert.DoesNotContain(fixture.Server.Lines, l => l.Contains("implicit", StringComparison.OrdinalIgnoreCase) || l.Contains("IMAPS", StringComparison.Ordinal));
        var socket = Path.Combine(fixture.Cli.DataDirectory, "unseal.sock");
        Assert.True(File.Exists(socket));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
        }
    }

    public static TheoryData<string, string> RefusedShares() => new()
    {
        { "hello", "not a share" },
        { "sealpost-share-v1:00000000:1:AAAA", "another share set" },
        { "DAMAGED", "not one of this folder's shares" },
        { "UNKNOWN-X", "not one of this folder's shares" },
        { "sealpost-share-v1:SET:1:***", "damaged" },
    };

    [Theory]
    [MemberData(nameof(RefusedShares))]
    public async Task A_share_that_is_not_one_of_the_folders_is_refused_and_not_counted(string share, string error)
    {
        var real = fixture.Shares[3];
        var setId = real.Split(':')[1];
        share = share switch
        {
            "DAMAGED" => real[..^2] + (real[^2] == 'A' ? "BB" : "AA"),
            "UNKNOWN-X" => string.Join(':', real.Split(':')[..2].Append("9").Append(real.Split(':')[3])),
            _ => share.Replace("SET", setId),
        };
        var before = await StatusAsync();
        (await fixture.Cli.RunWithInputAsync(share + "\n", "unseal")).AssertCleanError(1, error);
        Assert.Equal(before, await StatusAsync());
    }

    [Fact]
    public async Task K_minus_one_shares_leave_it_sealed_and_a_share_given_twice_counts_once()
    {
        foreach (var share in fixture.Shares.Take(2))
        {
            var given = await fixture.Cli.RunWithInputAsync(share + "\n", "unseal");
            Assert.True(given.ExitCode == 0 || given.Err.Contains("already given"), given.Err);
        }

        (await fixture.Cli.RunWithInputAsync(fixture.Shares[0] + "\n", "unseal")).AssertCleanError(1, "already given");
        Assert.Contains("2 of 3 shares given", await StatusAsync());
        using var http = SealedFolders.Https();
        using var response = await http.GetAsync($"https://{SealedFolders.Listener(fixture.Server, "https")}/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task Unseal_answers_malformed_requests_with_a_problem_not_a_crash()
    {
        using var http = SealedFolders.Https();
        var url = $"https://{SealedFolders.Listener(fixture.Server, "https")}/v1/unseal";
        using var response = await http.PostAsync(url, new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var big = await http.PostAsync(url, new StringContent("{\"share\":\"" + new string('a', 10_000) + "\"}", Encoding.UTF8, "application/json"));
        Assert.True(big.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest, big.StatusCode.ToString());
        Assert.DoesNotContain("   at ", await big.Content.ReadAsStringAsync());
    }

    private async Task<string> StatusAsync() => (await fixture.Cli.OkAsync("unseal", "status")).Out.Trim();
}

public sealed class UnsealTests
{
    [Fact]
    public async Task K_shares_unseal_the_server_which_then_serves_every_port_and_audits_the_unseal()
    {
        using var folder = new TempFolder();
        var (cli, shares) = await SealedFolders.InitAsync(folder, shares: 3, threshold: 2);
        using var server = SealedFolders.Serve(folder, cli.DataDirectory);
        await server.WaitForLineAsync(l => l.TrimStart().StartsWith("imap starttls", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var imap = SealedFolders.Listener(server, "imap starttls");

        Assert.Contains("1 more needed", (await cli.OkWithInputAsync(shares[2] + "\n", "unseal")).Out);
        Assert.Contains("Unsealed", (await cli.OkWithInputAsync(shares[0] + "\n", "unseal")).Out);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.StartsWith("* OK", await SealedFolders.GreetingAsync(imap));
        Assert.Contains(server.Lines, l => l.Contains("IMAPS", StringComparison.Ordinal));
        var url = server.Lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        using var http = SealedFolders.Https();
        var health = await http.GetFromJsonAsync<HealthReport>(url);
        Assert.Equal("ok", health!.Status);
        Assert.StartsWith("unsealed with 2 of 3 officers' shares", health.Keystore);
        Assert.False(File.Exists(Path.Combine(cli.DataDirectory, "unseal.sock")));

        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        var audit = await cli.OkWithInputAsync(shares[1] + "\n" + shares[2] + "\n", "audit", "search", "--action", "ServerUnsealed");
        Assert.Contains("shares 1, 3 of set", audit.Out);
    }

    [Fact]
    public async Task Init_writes_no_master_key_and_no_stored_byte_holds_it()
    {
        using var folder = new TempFolder();
        var (cli, shares) = await SealedFolders.InitAsync(folder, shares: 3, threshold: 2);
        Assert.Equal(3, shares.Count);
        Assert.False(File.Exists(TestOptions.MasterKeyFile(cli.DataDirectory)));
        await cli.OkWithInputAsync(shares[0] + "\n" + shares[1] + "\n", "audit", "verify");

        // Raw, base64 and hex, in every file of the folder and beside it.
        Assert.Empty(DataFolders.FilesHolding(folder.Path, SealedFolders.MasterKey(cli.DataDirectory, shares[0], shares[2])));
    }

    [Theory]
    [InlineData("1", "5", "--threshold: at least 2")]
    [InlineData("4", "3", "--shares: between the threshold")]
    [InlineData("2", "40", "--shares: between the threshold")]
    public async Task Init_refuses_a_split_one_officer_could_open_or_that_cannot_be_made(string threshold, string shares, string error)
    {
        using var folder = new TempFolder();
        var cli = new CliRunner(folder.Sub("prod"));
        var (publicFile, _) = TestOptions.RecoveryKey(folder.Path);
        (await cli.RunAsync("init", "--recovery-public-key", publicFile, "--shares", shares, "--threshold", threshold)).AssertCleanError(1, error);
        Assert.False(File.Exists(Path.Combine(cli.DataDirectory, "sealpost.initialised")));
    }

    [Fact]
    public async Task An_offline_command_on_a_sealed_folder_needs_k_shares()
    {
        using var folder = new TempFolder();
        var (cli, shares) = await SealedFolders.InitAsync(folder, shares: 3, threshold: 2);
        (await cli.RunAsync("user", "list")).AssertCleanError(1, "give 2 shares on standard input");
        (await cli.RunWithInputAsync(shares[0] + "\n", "user", "list")).AssertCleanError(1, "(1 given)");
        await cli.OkWithInputAsync(shares[0] + "\n" + shares[1] + "\n", "user", "list");
    }

    [Fact]
    public async Task Rotating_the_shares_keeps_the_mail_key_and_retires_the_old_shares()
    {
        using var folder = new TempFolder();
        var (cli, old) = await SealedFolders.InitAsync(folder, shares: 3, threshold: 2);
        var oldSet = ShareSet.Load(cli.DataDirectory)!;
        var oldKey = Shamir.Combine([oldSet.Check(old[0]), oldSet.Check(old[1])]);

        var rotated = await cli.OkWithInputAsync(old[0] + "\n" + old[2] + "\n", "unseal", "rotate", "--shares", "4", "--threshold", "3");
        var fresh = SealedFolders.SharesIn(rotated.Out);
        Assert.Equal(4, fresh.Count);
        var newSet = ShareSet.Load(cli.DataDirectory)!;
        Assert.NotEqual(oldSet.SetId, newSet.SetId);
        Assert.Equal(oldKey, Shamir.Combine([newSet.Check(fresh[3]), newSet.Check(fresh[1]), newSet.Check(fresh[0])]));

        (await cli.RunWithInputAsync(old[0] + "\n" + old[1] + "\n", "user", "list")).AssertCleanError(1, "another share set");
        var audit = await cli.OkWithInputAsync(string.Join("\n", fresh.Take(3)) + "\n", "audit", "search", "--action", "UnsealSharesRotated");
        Assert.Contains($"set {oldSet.SetId} (2 of 3) replaced by set {newSet.SetId} (3 of 4)", audit.Out);
    }
}
