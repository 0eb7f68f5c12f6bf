using System.Net;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>The Debian package, built once by packaging/build-deb.sh for every test here.</summary>
public sealed class DebianPackage : IAsyncLifetime
{
    private readonly TempFolder _folder = new("sealpost-deb");

    public string Deb { get; private set; } = "";

    /// <summary>The package's files unpacked (dpkg-deb -x), as they would land under /.</summary>
    public string Root => Path.Combine(_folder.Path, "root");

    public async Task InitializeAsync()
    {
        Tools.Require("dpkg-deb");
        var (exit, output) = await Tools.RunAsync("bash", [Path.Combine(Repository.Root, "packaging", "build-deb.sh"), Path.Combine(_folder.Path, "out")], timeout: TimeSpan.FromMinutes(8));
        Assert.True(exit == 0, output);
        Deb = output.Trim().Split('\n')[^1];
        var (unpacked, text) = await Tools.RunAsync("dpkg-deb", ["-x", Deb, Root], timeout: TimeSpan.FromMinutes(2));
        Assert.True(unpacked == 0, text);
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// What a department's IT installs: lintian finds nothing, the package holds the program, the unit,
/// the conffile and the scripts, the unit passes systemd's own check, and the packaged program
/// (self-contained, no SDK) serves.
/// </summary>
public sealed class DebianPackageTests(DebianPackage package) : IClassFixture<DebianPackage>
{
    [Fact]
    public async Task Lintian_finds_no_error_or_warning()
    {
        var (exit, output) = await Tools.RunAsync("lintian", ["--fail-on", "error,warning", "--tag-display-limit", "0", package.Deb], timeout: TimeSpan.FromMinutes(8));
        Assert.True(exit == 0, output);
    }

    [Theory]
    [InlineData("./usr/bin/sealpost")]
    [InlineData("./usr/lib/sealpost/sealpost")]
    [InlineData("./lib/systemd/system/sealpost.service")]
    [InlineData("./etc/sealpost/sealpost.json")]
    [InlineData("./usr/share/man/man1/sealpost.1.gz")]
    [InlineData("./usr/share/doc/sealpost/copyright")]
    public async Task The_package_holds(string path)
    {
        var (_, listing) = await Tools.RunAsync("dpkg-deb", ["-c", package.Deb]);
        Assert.Contains(listing.Split('\n'), line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 6 } f && f[5] == path);
    }

    [Fact]
    public async Task The_configuration_is_a_conffile_kept_across_upgrades()
    {
        var (exit, conffiles) = await Tools.RunAsync("dpkg-deb", ["--info", package.Deb, "conffiles"]);
        Assert.Equal(0, exit);
        Assert.Equal("/etc/sealpost/sealpost.json", conffiles.Trim());
    }

    [Fact]
    public async Task The_unit_passes_systemds_own_check_without_a_warning()
    {
        // systemd-analyze verify checks every directive against this machine's systemd and that the
        // program exists: point ExecStart at the unpacked program (it is not installed here).
        using var folder = new TempFolder("sealpost-unit");
        var unit = (await File.ReadAllTextAsync(Path.Combine(package.Root, "lib", "systemd", "system", "sealpost.service")))
            .Replace("/usr/bin/sealpost", Path.Combine(package.Root, "usr", "lib", "sealpost", "sealpost"), StringComparison.Ordinal);
        var path = Path.Combine(folder.Path, "sealpost.service");
        await File.WriteAllTextAsync(path, unit);
        var (exit, output) = await Tools.RunAsync("systemd-analyze", ["verify", "--man=no", path], timeout: TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, output);
        Assert.Equal("", output.Trim());
    }

    [Fact]
    public async Task The_unit_runs_the_server_as_its_own_user_without_diagnostics_or_core_dumps()
    {
        var unit = await File.ReadAllLinesAsync(Path.Combine(package.Root, "lib", "systemd", "system", "sealpost.service"));
        Assert.Contains("User=sealpost", unit);
        Assert.Contains("Environment=DOTNET_EnableDiagnostics=0", unit);
        Assert.Contains("LimitCORE=0", unit);
        Assert.Contains("NoNewPrivileges=yes", unit);
        Assert.Contains("ConditionPathExists=/var/lib/sealpost/sealpost.initialised", unit);
    }

    [Fact]
    public async Task The_packaged_program_serves_without_the_sdk()
    {
        using var folder = new TempFolder("sealpost-deb-serve");
        var data = Path.Combine(folder.Path, "data");
        using var server = ChildProcess.StartExecutable(Path.Combine(package.Root, "usr", "lib", "sealpost", "sealpost"),
            ["serve", "--dev", "--data", data, .. TestOptions.LoopbackListeners, "--set", "PasswordHashing:Profile=" + Sealpost.Core.Configuration.OptionsValidator.TestProfile],
            environment: new Dictionary<string, string> { ["DOTNET_ROOT"] = "/nonexistent", ["PATH"] = "/usr/bin:/bin" });
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var url = server.Lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        using var health = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }
}
