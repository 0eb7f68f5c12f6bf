using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sealpost.Core;
using Sealpost.Core.Configuration;
using Sealpost.Server;
using Sealpost.Server.Hosting;
using Sealpost.Server.Tls;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

[Collection(ProcessEnvironmentCollection.Name)]
public sealed class ServerTests
{
    [Fact]
    public async Task Health_answers_over_https_on_the_port_the_server_reports()
    {
        await using var server = await TestServer.StartAsync();
        Assert.NotEqual(0, server.Https.Port);
        var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.DevCertificateFile));
        using var http = server.HttpClient(certificate);
        var response = await http.GetAsync(new Uri(server.Https, "/health"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var health = await response.Content.ReadFromJsonAsync<HealthReport>();
        Assert.Equal("ok", health!.Status);
        Assert.Equal("sqlite", health.Store);
        Assert.Equal("development", health.Mode);
        Assert.True(health.SchemaVersion >= 1);
        Assert.False(response.Headers.Contains("Server"));
    }

    [Theory]
    [InlineData("/health/live", "\"live\"")]
    [InlineData("/health/ready", "\"ok\"")]
    public async Task Liveness_and_readiness_answer_200_on_a_serving_node(string path, string status)
    {
        await using var server = await TestServer.StartAsync();
        var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.DevCertificateFile));
        using var http = server.HttpClient(certificate);
        using var response = await http.GetAsync(new Uri(server.Https, path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(status, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_reports_the_kernels_clock_state_and_when_the_certificate_expires()
    {
        await using var server = await TestServer.StartAsync();
        var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.DevCertificateFile));
        using var http = server.HttpClient(certificate);
        var health = (await http.GetFromJsonAsync<HealthReport>(new Uri(server.Https, "/health")))!;
        // Read from adjtimex(2): this Linux machine answers one way or the other, never "unknown".
        Assert.Contains(health.Clock, new[] { "synchronised", "unsynchronised" });
        Assert.Equal(new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero), health.CertificateExpires);
    }

    [Fact]
    public async Task The_dev_environment_has_the_demo_domain_users_alias_and_group()
    {
        await using var server = await TestServer.StartAsync();
        var directory = server.Server.Runtime.Directory;
        foreach (var (address, password, _) in DevEnvironment.DemoUsers)
        {
            Assert.NotNull(await directory.VerifyPasswordAsync(address, password));
        }

        var team = await server.Server.Runtime.Recipients.ExpandAsync(Sealpost.Core.Addressing.MailAddress.Parse("team@example.test"));
        Assert.Equal(2, team.LocalAccounts.Count);
        var postmaster = await server.Server.Runtime.Recipients.ExpandAsync(Sealpost.Core.Addressing.MailAddress.Parse("postmaster@example.test"));
        Assert.Equal("alice@example.test", Assert.Single(postmaster.LocalAccounts).Address.Key);
    }

    [Fact]
    public async Task Sni_picks_the_certificate_for_the_name_and_falls_back_to_the_first()
    {
        using var certs = new TempFolder();
        var main = MakeCertificate(certs, "main", "mail.example.test");
        var other = MakeCertificate(certs, "other", "imap.other.test");
        var wildcard = MakeCertificate(certs, "wild", "*.wild.test");
        await using var server = await TestServer.StartAsync(o => o.Tls.Certificates.AddRange([main, other, wildcard]));

        Assert.Contains("mail.example.test", (await server.HandshakeAsync("mail.example.test")).Subject);
        Assert.Contains("imap.other.test", (await server.HandshakeAsync("IMAP.other.test")).Subject);
        Assert.Contains("*.wild.test", (await server.HandshakeAsync("smtp.wild.test")).Subject);
        Assert.Contains("mail.example.test", (await server.HandshakeAsync("deep.smtp.wild.test")).Subject); // a wildcard covers one label
        Assert.Contains("mail.example.test", (await server.HandshakeAsync("unknown.test")).Subject);
    }

    [Theory]
    [InlineData("Default", true)]
    [InlineData("AeadOnly", false)]
    public async Task Only_tls_12_and_13_with_forward_secret_suites_are_accepted(string cipherSuites, bool sha2CbcAccepted)
    {
        await using var server = await TestServer.StartAsync(o => o.Tls.CipherSuites = cipherSuites);
        var connect = $"127.0.0.1:{server.Https.Port}";
        var tls13 = await Tools.RunAsync("openssl", ["s_client", "-connect", connect, "-tls1_3", "-brief"]);
        Assert.Contains("TLSv1.3", tls13.Output);
        var tls12 = await Tools.RunAsync("openssl", ["s_client", "-connect", connect, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384", "-brief"]);
        Assert.Contains("ECDHE-ECDSA-AES256-GCM-SHA384", tls12.Output);

        // CBC with a SHA-256 MAC: in the runtime's default list, not in the AEAD-only one.
        var cbcSha256 = await Tools.RunAsync("openssl", ["s_client", "-connect", connect, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256", "-brief"]);
        Assert.Equal(sha2CbcAccepted, cbcSha256.Exit == 0 && cbcSha256.Output.Contains("ECDHE-ECDSA-AES128-SHA256"));

        // Never: SHA-1 MACs, non-forward-secret key exchange, TLS 1.1.
        var cbcSha1 = await Tools.RunAsync("openssl", ["s_client", "-connect", connect, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA", "-brief"]);
        Assert.NotEqual(0, cbcSha1.Exit);
        var staticRsa = await Tools.RunAsync("openssl", ["s_client", "-connect", connect, "-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-SHA256", "-brief"]);
        Assert.NotEqual(0, staticRsa.Exit);
        // OpenSSL 3 at its default security level will not even offer TLS 1.1; lower it so the server is what refuses.
        var tls11 = await Tools.RunAsync("openssl", ["s_client", "-connect", connect, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-brief"]);
        Assert.NotEqual(0, tls11.Exit);
        Assert.DoesNotContain("Protocol version: TLSv1.1", tls11.Output);
    }

    [Fact]
    public async Task A_renewed_certificate_is_picked_up_without_restart_and_a_broken_one_is_ignored()
    {
        await using var server = await TestServer.StartAsync();
        var before = await server.HandshakeAsync("localhost");
        var generation = server.Server.Certificates.Generation;

        // Renew in place, as certbot would; the poller (1 s here) notices the new files.
        var tls = server.Server.Runtime.Folder.TlsFolder;
        File.Delete(Path.Combine(tls, DevCertificate.KeyFileName));
        DevCertificate.Create(Path.Combine(tls, DevCertificate.CertificateFileName), Path.Combine(tls, DevCertificate.KeyFileName), "localhost");
        var after = await WaitForAsync(async () =>
        {
            var c = await server.HandshakeAsync("localhost");
            return c.Thumbprint != before.Thumbprint ? c : null;
        });
        Assert.True(server.Server.Certificates.Generation > generation);

        // A half-written file must not take TLS down: the current certificate stays.
        await File.WriteAllTextAsync(Path.Combine(tls, DevCertificate.CertificateFileName), "-----BEGIN CERTIFICATE-----\ngarbage\n");
        Assert.False(server.Server.Certificates.Reload());
        Assert.Equal(after.Thumbprint, (await server.HandshakeAsync("localhost")).Thumbprint);
        Assert.Contains("[2101]", server.Logs.ToString());
    }

    [Fact]
    public async Task Pkcs12_certificates_load_with_the_password_from_the_environment()
    {
        using var certs = new TempFolder();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=p12.example.test", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var path = certs.Sub("server.p12");
        await File.WriteAllBytesAsync(path, cert.Export(X509ContentType.Pkcs12, "p12-secret"));
        Environment.SetEnvironmentVariable("SEALPOST_TEST_P12_PASSWORD", "p12-secret");
        try
        {
            var store = new CertificateStore(
                [new CertificateOptions { Pkcs12File = path, Pkcs12PasswordEnvironmentVariable = "SEALPOST_TEST_P12_PASSWORD", Hosts = ["p12.example.test"] }],
                TimeSpan.Zero, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            Assert.Equal(cert.Thumbprint, store.SelectCertificate("p12.example.test").Thumbprint);
            store.Dispose();

            Environment.SetEnvironmentVariable("SEALPOST_TEST_P12_PASSWORD", "wrong");
            var wrong = Assert.Throws<SealpostException>(() => new CertificateStore(
                [new CertificateOptions { Pkcs12File = path, Pkcs12PasswordEnvironmentVariable = "SEALPOST_TEST_P12_PASSWORD" }],
                TimeSpan.Zero, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
            Assert.Contains("Tls:Certificates:0", wrong.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SEALPOST_TEST_P12_PASSWORD", null);
        }
    }

    [Fact]
    public async Task Production_serve_refuses_a_dev_folder_and_the_test_password_profile()
    {
        using var folder = new TempFolder();
        var options = TestOptions.For(folder.Sub("data"));
        await DevEnvironment.PrepareAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        var testProfile = await Assert.ThrowsAsync<SealpostException>(() => SealpostServer.StartAsync(new ServerStartOptions(options, Dev: false)));
        Assert.Contains("PasswordHashing:Profile", testProfile.Message);

        options.PasswordHashing = new PasswordHashingOptions();
        var devFolder = await Assert.ThrowsAsync<SealpostException>(() => SealpostServer.StartAsync(new ServerStartOptions(options, Dev: false)));
        Assert.Equal(ErrorKind.Forbidden, devFolder.Kind);
        Assert.Contains("--dev", devFolder.Message);

        var notInitialised = TestOptions.For(folder.Sub("empty"));
        notInitialised.Tls.Certificates.Add(options.Tls.Certificates[0]);
        var missing = await Assert.ThrowsAsync<SealpostException>(() => SealpostServer.StartAsync(new ServerStartOptions(notInitialised, Dev: true)));
        Assert.Contains("sealpost init", missing.Message);
    }

    private static CertificateOptions MakeCertificate(TempFolder folder, string name, string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certFile = folder.Sub(name + ".pem");
        var keyFile = folder.Sub(name + ".key");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new CertificateOptions { CertificateFile = certFile, KeyFile = keyFile };
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe)
        where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("condition not met within 10 s");
    }
}
