using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Audit;
using Sealpost.Core.Configuration;
using Sealpost.Server;
using Sealpost.Server.Hosting;
using Sealpost.Server.Tls;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// A server with Tls:Acme pointed at a real pebble CA that validates http-01 through dnsmasq: the CA
/// is started only after the server, so the first order fails and the retry gets the certificate.
/// </summary>
public sealed class AcmeFixture : IAsyncLifetime
{
    public DnsServer Dns { get; private set; } = null!;

    public PebbleCa Pebble { get; } = PebbleCa.Prepare();

    public TestServer Server { get; private set; } = null!;

    /// <summary>The certificate the server presented as mail.example.test before the CA was up.</summary>
    public X509Certificate2 BeforeIssue { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Dns = await DnsServer.StartAsync("--address=/test/127.0.0.1");
        Server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(Dns.EndPoint.ToString());
            o.Tls.Acme.DirectoryUrl = Pebble.DirectoryUrl;
            o.Tls.Acme.TrustedCaFile = Pebble.TlsRootFile;
            o.Tls.Acme.ChallengeListen = "127.0.0.1:0";
            o.Tls.Acme.Email = "hostmaster@example.test";
            o.Tls.Acme.RetrySeconds = 1;
        });
        BeforeIssue = await Server.HandshakeAsync("mail.example.test");
        await Pebble.StartAsync(Server.Server.AcmeChallengeEndpoint!.Port, Dns.EndPoint);
        await WaitIssuedAsync(1);
    }

    public async Task WaitIssuedAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (Server.Server.Acme!.Issued < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no certificate issued; server log:\n{Server.Logs}\npebble:\n{Pebble.Output}");
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Pebble.Dispose();
        Dns.Dispose();
    }
}

public sealed class AcmeTests(AcmeFixture acme) : IClassFixture<AcmeFixture>
{
    [Theory]
    [InlineData("mail.example.test")]
    [InlineData("autoconfig.example.test")]
    [InlineData("mta-sts.example.test")]
    public async Task The_issued_certificate_verifies_with_openssl_for_each_host_name(string host)
    {
        var root = acme.Server.Server.Runtime.Folder.Path + $"/../pebble-root-{host}.pem";
        await File.WriteAllTextAsync(root, await acme.Pebble.IssuingRootAsync());
        var https = acme.Server.Https;
        var (_, output) = await Tools.RunAsync("openssl",
            ["s_client", "-connect", $"{https.Host}:{https.Port}", "-servername", host, "-CAfile", root, "-verify_return_error", "-verify_hostname", host],
            timeout: TimeSpan.FromSeconds(20));
        Assert.Contains("Verify return code: 0 (ok)", output);
    }

    [Fact]
    public void Until_the_CA_answered_the_configured_certificate_was_served()
    {
        Assert.DoesNotContain("Pebble", acme.BeforeIssue.Issuer);
        Assert.Contains("ACME: the certificate could not be obtained", acme.Server.Logs.ToString());
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/health")]
    [InlineData("/api/v1/health")]
    [InlineData("/.well-known/acme-challenge/not-a-pending-token")]
    [InlineData("/.well-known/mta-sts.txt")]
    public async Task The_challenge_listener_answers_nothing_but_pending_challenges(string path)
    {
        var endpoint = acme.Server.Server.AcmeChallengeEndpoint!;
        var (exit, output) = await Tools.RunAsync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: mta-sts.example.test", $"http://{endpoint}{path}"]);
        Assert.Equal(0, exit);
        Assert.Equal("404", output.Trim());
    }

    [Fact]
    public async Task A_challenge_pending_on_another_node_is_answered_from_the_shared_keystore()
    {
        // What another node's order leaves in the keystore all nodes share; the CA may reach any node.
        await acme.Server.Server.Runtime.Keystore.PutSecretAsync("acme/challenges",
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["other-node-token"] = "other-node-token.thumbprint" }));
        var endpoint = acme.Server.Server.AcmeChallengeEndpoint!;
        var (exit, output) = await Tools.RunAsync("curl", ["-s", "-f", $"http://{endpoint}/.well-known/acme-challenge/other-node-token"]);
        Assert.Equal(0, exit);
        Assert.Equal("other-node-token.thumbprint", output);
    }

    [Fact]
    public async Task The_issued_certificate_is_in_the_audit_trail_with_its_fingerprint()
    {
        var served = await acme.Server.HandshakeAsync("mail.example.test");
        var records = await acme.Server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.TlsCertificateStored));
        var record = Assert.Single(records, r => r.Event.Detail!.Contains(served.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant(), StringComparison.Ordinal));
        Assert.Equal("system", record.Event.Actor);
        Assert.Equal("tls/acme", record.Event.Target);
        Assert.Equal(AuditOutcome.Success, record.Event.Outcome);
    }

    [Fact]
    public async Task The_account_key_was_made_once_and_audited()
    {
        var records = await acme.Server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.AcmeAccountKeyCreated));
        var record = Assert.Single(records);
        Assert.Equal("system", record.Event.Actor);
        Assert.StartsWith("P-256 sha256:", record.Event.Detail);
    }

    [Fact]
    public async Task No_private_key_but_the_development_one_is_in_the_data_folder_in_the_clear()
    {
        await acme.WaitIssuedAsync(1);
        var folder = acme.Server.Server.Runtime.Folder;
        var hits = new MarkerScanner(["PRIVATE KEY"]).ScanTree(folder.Path);
        // The scan does read the folder: the development key, a file by design, is found; nothing else is.
        Assert.Contains(hits, hit => hit.Contains(DevCertificate.KeyFileName, StringComparison.Ordinal));
        Assert.DoesNotContain(hits, hit => !hit.Contains(DevCertificate.KeyFileName, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_domain_added_is_covered_by_a_new_certificate_at_the_next_check()
    {
        var issued = acme.Server.Server.Acme!.Issued;
        await acme.Server.Server.Runtime.Directory.AddDomainAsync(SealpostRuntime.LocalAdministrator, "acme-added.test", "default");
        acme.Server.Server.Acme.CheckNow();
        await acme.WaitIssuedAsync(issued + 1);
        var served = await acme.Server.HandshakeAsync("autoconfig.acme-added.test");
        Assert.Contains("autoconfig.acme-added.test", CertificateStore.NamesOf(served));
        Assert.Contains("mail.example.test", CertificateStore.NamesOf(served));
    }
}

public sealed class AcmeStandInTests
{
    [Fact]
    public void With_ACME_on_and_nothing_issued_or_configured_a_self_signed_stand_in_answers()
    {
        using var store = new CertificateStore([], TimeSpan.Zero, NullLogger.Instance, _ => null, acme: "mail.example.test");
        var certificate = store.SelectCertificate("mail.example.test");
        Assert.Contains("awaiting ACME", certificate.Subject);
        Assert.Equal(["mail.example.test"], CertificateStore.NamesOf(certificate));
        Assert.Null(store.Acme);
    }

    [Fact]
    public void Without_ACME_a_server_with_no_certificate_is_refused()
    {
        var ex = Assert.Throws<Sealpost.Core.SealpostException>(() => new CertificateStore([], TimeSpan.Zero, NullLogger.Instance));
        Assert.Contains("Tls:Acme:DirectoryUrl", ex.Message);
    }
}
