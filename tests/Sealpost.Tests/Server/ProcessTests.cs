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
        var data = folder.Sub(".dev-data");
        using var server = ChildProcess.Start("sealpost",
            ["serve", "--dev", "--data", data, .. TestOptions.LoopbackListeners, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile]);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var lines = server.Lines;
        Assert.Contains(lines, l => l.Contains("alice@example.test") && l.Contains("alice-dev-password"));
        Assert.Contains(lines, l => l.Contains("(created now)"));
        var url = lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.DoesNotContain(":8443", url);

        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        var health = await http.GetFromJsonAsync<HealthReport>(url);
        Assert.Equal("ok", health!.Status);

        // Commands on the dev folder find its master key there, as the dev server did (README: queue, users).
        foreach (var command in new[] { "user list", "queue list" })
        {
            using var cli = ChildProcess.Start("sealpost", [.. command.Split(' '), "--data", data]);
            Assert.True(await cli.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, $"sealpost {command}: {cli.Stderr}");
            Assert.Contains(cli.Lines, l => l.Contains(command == "user list" ? "alice@example.test" : "message(s) queued", StringComparison.Ordinal));
        }

        // From the folder where `serve --dev` runs, no --data is needed.
        using (var here = ChildProcess.Start("sealpost", ["user", "list"], workingDirectory: folder.Path))
        {
            Assert.True(await here.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, $"sealpost user list: {here.Stderr}");
            Assert.Contains(here.Lines, l => l.Contains("bob@example.test", StringComparison.Ordinal));
        }

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
        using var serve = ChildProcess.Start("sealpost", ["serve", "--data", data, .. TestOptions.LoopbackListeners]);
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
            "serve", "--data", data, .. TestOptions.LoopbackListeners, "--set", "Vault:MasterKeyFile=" + TestOptions.MasterKeyFile(data),
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

    [Fact]
    public async Task A_certificate_imported_into_the_keystore_is_served_and_its_key_is_not_stored_in_clear()
    {
        using var folder = new TempFolder();
        var data = folder.Sub("prod");
        var cli = new CliRunner(data);
        await cli.InitAsync();
        var pem = DevCertificateFor(folder);
        var keyBody = File.ReadAllLines(pem.KeyFile!).Skip(1).First(); // a line of the key's base64
        await cli.OkAsync("tls", "import", "mail", "--cert", pem.CertificateFile!, "--key", pem.KeyFile!);
        (await cli.RunAsync("tls", "import", "bad name!", "--cert", pem.CertificateFile!, "--key", pem.KeyFile!)).AssertCleanError(1, "certificate name");
        (await cli.RunAsync("tls", "import", "other", "--cert", pem.CertificateFile!, "--key", pem.CertificateFile!)).AssertCleanError(1, "cannot use");
        File.Delete(pem.KeyFile!);

        using var server = ChildProcess.Start("sealpost",
        [
            "serve", "--data", data, .. TestOptions.LoopbackListeners, "--set", "Vault:MasterKeyFile=" + TestOptions.MasterKeyFile(data),
            "--set", "Tls:Certificates:0:Keystore=mail",
        ]);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var url = new Uri(server.Lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        var expected = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(pem.CertificateFile!));
        using (var client = new System.Net.Sockets.TcpClient())
        {
            await client.ConnectAsync(url.Host, url.Port);
            await using var tls = new System.Net.Security.SslStream(client.GetStream(), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync("localhost");
            Assert.Equal(expected.Thumbprint, new System.Security.Cryptography.X509Certificates.X509Certificate2(tls.RemoteCertificate!).Thumbprint);
        }

        server.Terminate();
        await server.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(new MarkerScanner([keyBody]).ScanTree(folder.Path));
    }

    private static Sealpost.Core.Configuration.CertificateOptions DevCertificateFor(TempFolder folder)
    {
        var cert = folder.Sub("cert.pem");
        var key = folder.Sub("key.pem");
        Sealpost.Server.Tls.DevCertificate.Create(cert, key, "localhost");
        return new Sealpost.Core.Configuration.CertificateOptions { CertificateFile = cert, KeyFile = key };
    }
}
