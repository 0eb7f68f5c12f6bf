using System.Net.Http.Json;
using Sealpost.Crypto.Primitives;
using Sealpost.Server.Hosting;
using Sealpost.Server.Unseal;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// A SoftHSM token (softhsm2 from apt) in a folder of its own: the HSM the pkcs11 provider talks to over
/// the real PKCS#11 interface. SOFTHSM2_CONF points this process and its children at it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SoftHsmFixture : IAsyncLifetime
{
    public const string Library = "/usr/lib/softhsm/libsofthsm2.so";
    public const string Token = "sealpost-test";
    public const string Pin = "483920";

    public TempFolder Folder { get; } = new("sealpost-softhsm");

    public string PinFile => Folder.Sub("pin");

    public string WrongPinFile => Folder.Sub("wrong-pin");

    public async Task InitializeAsync()
    {
        if (!File.Exists(Library))
        {
            throw new InvalidOperationException($"{Library} is missing; run scripts/deps.sh (it installs everything the tests need)");
        }

        Directory.CreateDirectory(Folder.Sub("tokens"));
        var conf = Folder.Sub("softhsm2.conf");
        await File.WriteAllTextAsync(conf, $"directories.tokendir = {Folder.Sub("tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n");
        // Children get .NET's environment; the module loaded in this process reads the C library's.
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", conf);
        Assert.Equal(0, SetEnv("SOFTHSM2_CONF", conf, 1));
        var (exit, output) = await Tools.RunAsync("softhsm2-util", ["--init-token", "--free", "--label", Token, "--pin", Pin, "--so-pin", "7293018"], timeout: TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, output);
        foreach (var (path, pin) in new[] { (PinFile, Pin), (WrongPinFile, "000000") })
        {
            await File.WriteAllTextAsync(path, pin + "\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>--set arguments that point a command or server at the token, with this PIN file.</summary>
    public string[] Settings(string? pinFile = null) =>
    [
        "--set", "Vault:Pkcs11:Library=" + Library, "--set", "Vault:Pkcs11:TokenLabel=" + Token,
        "--set", "Vault:Pkcs11:PinFile=" + (pinFile ?? PinFile), "--set", "Vault:AutoUnsealRetrySeconds=1",
    ];

    public Task DisposeAsync()
    {
        Folder.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>init --unseal pkcs11: the master key wrapped by a key inside the HSM; the server unseals itself, the shares stay the way in.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class Pkcs11UnsealTests(SoftHsmFixture hsm) : IClassFixture<SoftHsmFixture>
{
    private Task<(CliRunner Cli, IReadOnlyList<string> Shares, string Output)> InitAsync(TempFolder folder) =>
        SealedFolders.InitAsync(folder, 3, 2, "pkcs11", hsm.Settings());

    private ChildProcess Serve(TempFolder folder, string data, string? pinFile = null)
    {
        var server = SealedFolders.Serve(folder, data, hsm.Settings(pinFile));
        return server;
    }

    private static async Task<HealthReport> HealthAsync(ChildProcess server)
    {
        var url = server.Lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        using var http = SealedFolders.Https();
        return (await http.GetFromJsonAsync<HealthReport>(url))!;
    }

    [Fact]
    public async Task The_server_unseals_itself_through_the_hsm_and_audits_how()
    {
        using var folder = new TempFolder();
        var (cli, shares, output) = await InitAsync(folder);
        Assert.Equal(3, shares.Count);
        Assert.Contains($"kept by pkcs11 token '{SoftHsmFixture.Token}'", output);

        using var server = Serve(folder, cli.DataDirectory);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var health = await HealthAsync(server);
        Assert.Equal("ok", health.Status);
        Assert.StartsWith($"unsealed by pkcs11 token '{SoftHsmFixture.Token}'", health.Keystore);
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(20)));

        // Offline commands on the folder use the HSM too: no shares on standard input.
        var audit = await cli.OkAsync(["audit", "search", "--action", "ServerUnsealed", .. hsm.Settings()]);
        Assert.Contains("pkcs11 token", audit.Out);
    }

    [Fact]
    public async Task A_wrong_pin_leaves_it_sealed_saying_why_and_officers_shares_still_unseal()
    {
        using var folder = new TempFolder();
        var (cli, shares, _) = await InitAsync(folder);
        using var server = Serve(folder, cli.DataDirectory, hsm.WrongPinFile);
        await server.WaitForLineAsync(l => l.TrimStart().StartsWith("Auto-unseal", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await server.WaitForStderrAsync("refused the PIN", TimeSpan.FromSeconds(60));
        using (var http = SealedFolders.Https())
        {
            using var sealedHealth = await http.GetAsync($"https://{SealedFolders.Listener(server, "https")}/health");
            var report = (await sealedHealth.Content.ReadFromJsonAsync<HealthReport>())!;
            Assert.Equal("sealed", report.Status);
            Assert.Contains($"waiting for pkcs11 token '{SoftHsmFixture.Token}'", report.Keystore);
        }

        Assert.Contains($"Also waiting for: pkcs11 token '{SoftHsmFixture.Token}'", (await cli.OkAsync("unseal", "status")).Out);
        await cli.OkWithInputAsync(shares[0] + "\n", "unseal");
        await cli.OkWithInputAsync(shares[2] + "\n", "unseal");
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.StartsWith("unsealed with 2 of 3 officers' shares", (await HealthAsync(server)).Keystore);
    }

    [Fact]
    public async Task Rotating_the_shares_keeps_the_hsm_wrap()
    {
        using var folder = new TempFolder();
        var (cli, shares, _) = await InitAsync(folder);
        var rotated = await cli.OkWithInputAsync(shares[0] + "\n" + shares[1] + "\n", ["unseal", "rotate", "--shares", "4", "--threshold", "3", .. hsm.Settings()]);
        Assert.Equal(4, SealedFolders.SharesIn(rotated.Out).Count);
        Assert.NotNull(ShareSet.Load(cli.DataDirectory)!.Auto);

        using var server = Serve(folder, cli.DataDirectory);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task No_stored_byte_holds_the_master_key_and_the_wrap_is_not_it()
    {
        using var folder = new TempFolder();
        var (cli, shares, _) = await InitAsync(folder);
        Assert.Empty(DataFolders.FilesHolding(folder.Path, SealedFolders.MasterKey(cli.DataDirectory, shares[0], shares[1])));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    public async Task A_damaged_wrap_in_unseal_json_is_named_and_the_server_stays_sealed_saying_so(string wrapped)
    {
        using var folder = new TempFolder();
        var (cli, shares, _) = await InitAsync(folder);
        var set = ShareSet.Load(cli.DataDirectory)!;
        set.Auto = set.Auto! with { Wrapped = wrapped };
        set.Save(cli.DataDirectory);

        // Offline: the HSM path says why and falls back to shares on standard input.
        var offline = await cli.RunAsync(["audit", "verify", .. hsm.Settings()]);
        Assert.Contains("pkcs11 wrap is damaged", offline.Err);
        Assert.DoesNotContain("internal error", offline.Err);

        using var server = Serve(folder, cli.DataDirectory);
        await server.WaitForStderrAsync("pkcs11 wrap is damaged", TimeSpan.FromSeconds(60));
        await cli.OkWithInputAsync(shares[0] + "\n", "unseal");
        await cli.OkWithInputAsync(shares[1] + "\n", "unseal");
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task A_pin_file_others_can_read_is_refused_with_one_line()
    {
        using var folder = new TempFolder();
        var open = folder.Sub("open-pin");
        await File.WriteAllTextAsync(open, SoftHsmFixture.Pin);
        File.SetUnixFileMode(open, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var cli = new CliRunner(folder.Sub("prod"));
        var (publicFile, _) = TestOptions.RecoveryKey(folder.Path);
        var result = await cli.RunAsync(["init", "--recovery-public-key", publicFile, "--unseal", "pkcs11", .. hsm.Settings(open)]);
        result.AssertCleanError(1, "chmod 600");
    }
}
