using System.Net;
using System.Net.Http.Json;
using Sealpost.Core.Configuration;
using Sealpost.Server.Hosting;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>The real `sealpost` executable, as the README runs it.</summary>
public sealed class ProcessTests
{
    [Fact]
    public async Task Serve_dev_prints_its_connection_details_serves_health_and_stops_on_sigterm()
    {
        using var folder = new TempFolder();
        var data = folder.Sub("dev");
        using var server = ChildProcess.Start("sealpost",
            ["serve", "--dev", "--data", data, "--set", "Http:Listen:0=127.0.0.1:0", "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile]);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var lines = server.Lines;
        Assert.Contains(lines, l => l.Contains("alice@example.test") && l.Contains("alice-dev-password"));
        Assert.Contains(lines, l => l.Contains("(created now)"));
        var url = lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.DoesNotContain(":8443", url);

        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        var health = await http.GetFromJsonAsync<HealthReport>(url);
        Assert.Equal("ok", health!.Status);

        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("Stopped.", server.Lines);
        Assert.True(File.Exists(Path.Combine(data, "DEV-ONLY")));
    }

    [Fact]
    public async Task Plain_serve_on_a_dev_folder_exits_with_one_line()
    {
        using var folder = new TempFolder();
        var data = folder.Sub("dev");
        var options = TestOptions.For(data);
        await DevEnvironment.PrepareAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        using var serve = ChildProcess.Start("sealpost", ["serve", "--data", data, "--set", "Http:Listen:0=127.0.0.1:0"]);
        Assert.Equal(1, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var stderr = serve.Stderr.Trim();
        Assert.StartsWith("error: ", stderr);
        Assert.Contains("--dev", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public async Task A_production_server_turns_core_dumps_off_and_reports_the_keystore_state()
    {
        using var folder = new TempFolder();
        var data = folder.Sub("prod");
        var cli = new CliRunner(data);
        await cli.InitAsync();
        var certificate = DevCertificateFor(folder);
        using var server = ChildProcess.Start("sealpost",
        [
            "serve", "--data", data, "--set", "Http:Listen:0=127.0.0.1:0", "--set", "Vault:MasterKeyFile=" + TestOptions.MasterKeyFile(data),
            "--set", "Tls:Certificates:0:CertificateFile=" + certificate.CertificateFile, "--set", "Tls:Certificates:0:KeyFile=" + certificate.KeyFile,
        ]);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var limits = await File.ReadAllTextAsync($"/proc/{server.Id}/limits");
        Assert.Matches(@"Max core file size\s+0\s+0", limits);

        var url = server.Lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        var health = await http.GetFromJsonAsync<HealthReport>(url);
        Assert.Equal("production", health!.Mode);
        Assert.Equal("master key from file: not sealed", health.Keystore);
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    private static Sealpost.Core.Configuration.CertificateOptions DevCertificateFor(TempFolder folder)
    {
        var cert = folder.Sub("cert.pem");
        var key = folder.Sub("key.pem");
        Sealpost.Server.Tls.DevCertificate.Create(cert, key, "localhost");
        return new Sealpost.Core.Configuration.CertificateOptions { CertificateFile = cert, KeyFile = key };
    }
}
