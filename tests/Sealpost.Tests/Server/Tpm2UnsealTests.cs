using System.Diagnostics;
using System.Net.Http.Json;
using Sealpost.Crypto.Primitives;
using Sealpost.Server.Hosting;
using Sealpost.Server.Unseal;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>A software TPM 2.0 (swtpm from apt) on a Unix socket of its own, for tpm2-tools to talk to.</summary>
public sealed class SwtpmFixture : IAsyncLifetime
{
    private Process? _swtpm;

    public TempFolder Folder { get; } = new("sealpost-swtpm");

    public string Tcti => "swtpm:path=" + Folder.Sub("tpm.sock");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder.Sub("state"));
        var info = new ProcessStartInfo(Tools.Require("swtpm")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "socket", "--tpm2", "--tpmstate", "dir=" + Folder.Sub("state"),
                     "--server", "type=unixio,path=" + Folder.Sub("tpm.sock"), "--ctrl", "type=unixio,path=" + Folder.Sub("tpm.sock.ctrl"),
                     "--flags", "not-need-init,startup-clear",
                 })
        {
            info.ArgumentList.Add(a);
        }

        Tools.Require("tpm2_createprimary");
        _swtpm = Process.Start(info)!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!File.Exists(Folder.Sub("tpm.sock.ctrl")) || !File.Exists(Folder.Sub("tpm.sock")))
        {
            Assert.True(DateTime.UtcNow < deadline && !_swtpm.HasExited, "swtpm did not open its sockets: " + (_swtpm.HasExited ? await _swtpm.StandardError.ReadToEndAsync() : "timeout"));
            await Task.Delay(50);
        }
    }

    public string[] Settings(string? tcti = null) => ["--set", "Vault:Tpm2:Tcti=" + (tcti ?? Tcti), "--set", "Vault:AutoUnsealRetrySeconds=1"];

    public Task DisposeAsync()
    {
        if (_swtpm is { HasExited: false })
        {
            _swtpm.Kill();
            _swtpm.WaitForExit(5000);
        }

        _swtpm?.Dispose();
        Folder.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>init --unseal tpm2: the master key sealed by the machine's TPM; the server unseals itself, the shares stay the way in.</summary>
public sealed class Tpm2UnsealTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>
{
    private Task<(CliRunner Cli, IReadOnlyList<string> Shares, string Output)> InitAsync(TempFolder folder) =>
        SealedFolders.InitAsync(folder, 3, 2, "tpm2", tpm.Settings());

    [Fact]
    public async Task The_server_unseals_itself_through_the_tpm()
    {
        using var folder = new TempFolder();
        var (cli, _, output) = await InitAsync(folder);
        Assert.Contains("kept by tpm2", output);

        using var server = SealedFolders.Serve(folder, cli.DataDirectory, tpm.Settings());
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var url = server.Lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        using var http = SealedFolders.Https();
        var health = (await http.GetFromJsonAsync<HealthReport>(url))!;
        Assert.StartsWith("unsealed by tpm2", health.Keystore);
    }

    [Fact]
    public async Task Without_its_tpm_the_server_stays_sealed_saying_why_and_shares_unseal_it()
    {
        using var folder = new TempFolder();
        var (cli, shares, _) = await InitAsync(folder);
        using var server = SealedFolders.Serve(folder, cli.DataDirectory, tpm.Settings("swtpm:path=" + folder.Sub("no-such-tpm.sock")));
        await server.WaitForLineAsync(l => l.TrimStart().StartsWith("Auto-unseal", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await server.WaitForStderrAsync("Could not load tcti", TimeSpan.FromSeconds(60));

        await cli.OkWithInputAsync(shares[1] + "\n", "unseal");
        await cli.OkWithInputAsync(shares[2] + "\n", "unseal");
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Unseal_json_holds_the_tpm_wrap_and_no_stored_byte_holds_the_master_key()
    {
        using var folder = new TempFolder();
        var (cli, shares, _) = await InitAsync(folder);
        Assert.Equal("tpm2", ShareSet.Load(cli.DataDirectory)!.Auto!.Provider);
        Assert.Empty(DataFolders.FilesHolding(folder.Path, SealedFolders.MasterKey(cli.DataDirectory, shares[0], shares[2])));
    }
}
