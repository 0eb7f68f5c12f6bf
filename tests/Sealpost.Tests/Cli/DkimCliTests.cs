using Sealpost.Core.Audit;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary><c>sealpost dkim</c>: keys made, rotated and shown with the records to publish; mistakes are clean errors; changes audited.</summary>
public sealed class DkimCliTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private CliRunner _cli = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        _cli = new CliRunner(_server.Server.Runtime.Options.DataDirectory);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Create_prints_the_record_and_is_audited()
    {
        var output = (await _cli.OkAsync("dkim", "create", "--domain", "example.test")).Out;
        Assert.Matches(@"sp\d{8}r\._domainkey\.example\.test\. IN TXT \( ""v=DKIM1; k=rsa; p=", output);
        var record = Assert.Single(await _server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.DkimKeyCreated, Limit: 10)));
        Assert.Equal("example.test", record.Event.Target);
        Assert.Contains("rsa-sha256", record.Event.Detail);
    }

    [Fact]
    public async Task Domain_dns_prints_every_record_the_domain_needs_with_its_dkim_key()
    {
        await _cli.OkAsync("dkim", "create", "--domain", "example.test", "--selector", "sel1");
        var printed = (await _cli.OkAsync("domain", "dns", "example.test")).Out;
        var host = @"[a-z0-9.-]+";
        foreach (var line in new[]
        {
            $@"example\.test\. IN MX 10 {host}\.", @"example\.test\. IN TXT ""v=spf1 mx -all""", @"sel1\._domainkey\.example\.test\. IN TXT", @"_dmarc\.example\.test\. IN TXT ""v=DMARC1;",
            $@"_imaps\._tcp\.example\.test\. IN SRV 0 1 993 {host}\.", $@"_submissions\._tcp\.example\.test\. IN SRV 0 1 465 {host}\.", $@"autoconfig\.example\.test\. IN CNAME {host}\.",
            $@"_autodiscover\._tcp\.example\.test\. IN SRV 0 1 443 {host}\.", @"_smtp\._tls\.example\.test\. IN TXT ""v=TLSRPTv1;",
        })
        {
            Assert.Matches(line, printed);
        }
    }

    /// <summary>The records example.test needs (served from mail.example.test, with an Ed25519 DKIM key), as dnsmasq options, less those named.</summary>
    private async Task<string[]> ZoneAsync(params string[] leaveOut)
    {
        await _cli.OkAsync("dkim", "create", "--domain", "example.test", "--algorithm", "ed25519", "--selector", "sel2");
        var key = (await _server.Server.Runtime.Dkim.ShowAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "example.test", CancellationToken.None)).Active;
        var zone = new List<string> { "--host-record=mail.example.test,127.0.0.1" };
        foreach (var r in Sealpost.Domain.DomainRecords.For("example.test", "mail.example.test", (key.DnsName, key.DnsRecord)).Where(r => !leaveOut.Contains(r.Purpose)))
        {
            var v = r.Value.Split(' ');
            switch (r.Type)
            {
                case "MX": zone.Add($"--mx-host={r.Name},{v[1].TrimEnd('.')},{v[0]}"); break;
                case "TXT": zone.Add($"--txt-record={r.Name},{r.Value}"); break;
                case "SRV" when v[3] != ".": zone.Add($"--srv-host={r.Name},{v[3].TrimEnd('.')},{v[2]},{v[0]},{v[1]}"); break;
                case "CNAME": zone.Add($"--cname={r.Name},{r.Value.TrimEnd('.')}"); break;
            }
        }

        return zone.ToArray();
    }

    private Task<CliResult> CheckAsync(DnsServer dns) =>
        _cli.RunAsync("domain", "check", "example.test", "--dns-server", dns.EndPoint.ToString(), "--set", "Hostname=mail.example.test");

    [Fact]
    public async Task Domain_check_finds_every_record_of_a_complete_zone_in_place()
    {
        using var dns = await DnsServer.StartAsync(await ZoneAsync());
        var result = await CheckAsync(dns);
        Assert.True(result.ExitCode == 0, result.Out + result.Err);
        Assert.Contains("All 13 records are in place.", result.Out);
    }

    [Theory]
    [InlineData("dmarc", "missing    _dmarc.example.test TXT")]
    [InlineData("imaps", "missing    _imaps._tcp.example.test SRV")]
    [InlineData("dkim", "missing    sel2._domainkey.example.test TXT")]
    [InlineData("autoconfig", "missing    autoconfig.example.test CNAME")]
    [InlineData("mta-sts", "missing    _mta-sts.example.test TXT")]
    public async Task Domain_check_names_a_missing_record_and_fails(string leftOut, string line)
    {
        using var dns = await DnsServer.StartAsync(await ZoneAsync(leftOut));
        var result = await CheckAsync(dns);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(line, result.Out);
        Assert.Contains("1 of 13 records are missing or different.", result.Out);
    }

    [Fact]
    public async Task Domain_check_names_an_mx_that_points_elsewhere()
    {
        using var dns = await DnsServer.StartAsync([.. await ZoneAsync("mx"), "--mx-host=example.test,mx.elsewhere.test,10"]);
        var result = await CheckAsync(dns);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("different  example.test MX (mx): found mx.elsewhere.test", result.Out);
    }

    [Fact]
    public async Task Domain_check_with_a_resolver_that_is_not_an_address_is_a_one_line_error()
    {
        (await _cli.RunAsync("domain", "check", "example.test", "--dns-server", "resolver.example")).AssertCleanError(1, "not an IP address");
    }

    [Fact]
    public async Task Domain_dns_for_a_domain_not_hosted_here_is_a_one_line_error()
    {
        (await _cli.RunAsync("domain", "dns", "elsewhere.test")).AssertCleanError(1, "not one of this server's domains");
    }

    [Fact]
    public async Task Rotate_keeps_the_previous_record_for_show()
    {
        await _cli.OkAsync("dkim", "create", "--domain", "example.test", "--selector", "old");
        Assert.Contains("k=ed25519", (await _cli.OkAsync("dkim", "rotate", "--domain", "example.test", "--algorithm", "ed25519", "--selector", "new")).Out);
        var shown = (await _cli.OkAsync("dkim", "show", "--domain", "example.test")).Out;
        Assert.Contains("Active: selector new, ed25519-sha256", shown);
        Assert.Contains("selector old, rsa-sha256: v=DKIM1; k=rsa; p=", shown);
    }

    [Fact]
    public async Task An_OpenDKIM_key_is_imported_and_keeps_its_published_record()
    {
        using var folder = new TempFolder();
        var keyFile = folder.Sub("opendkim.private");
        var (exit, output) = await Tools.RunAsync("openssl", ["genrsa", "-traditional", "-out", keyFile, "2048"]);
        Assert.True(exit == 0, output);
        var (_, publicPem) = await Tools.RunAsync("openssl", ["rsa", "-in", keyFile, "-pubout"]);
        var expected = string.Concat(publicPem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)).Select(l => l.Trim()));

        var created = (await _cli.OkAsync("dkim", "create", "--domain", "example.test", "--selector", "moved", "--private-key", keyFile)).Out;
        Assert.Contains("p=" + expected[..200], created.Replace("\" \"", "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_file_that_is_not_a_private_key_is_a_clean_error()
    {
        using var folder = new TempFolder();
        var keyFile = folder.Sub("not-a-key.pem");
        await File.WriteAllTextAsync(keyFile, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        (await _cli.RunAsync("dkim", "create", "--domain", "example.test", "--private-key", keyFile)).AssertCleanError(1, "the private key cannot be used");
    }

    [Theory]
    [InlineData("create twice", 1, "already has a DKIM key")]
    [InlineData("not ours", 1, "is not one of this server's domains")]
    [InlineData("bad selector", 1, "selector must be one DNS label")]
    [InlineData("rotate without key", 1, "has no DKIM key to rotate")]
    [InlineData("show without key", 1, "has no DKIM key")]
    [InlineData("bad algorithm", 2, "")]
    [InlineData("no domain", 2, "")]
    public async Task Mistakes_are_clean_errors(string mistake, int exit, string text)
    {
        string[] args = mistake switch
        {
            "create twice" => ["dkim", "create", "--domain", "example.test"],
            "not ours" => ["dkim", "create", "--domain", "elsewhere.example"],
            "bad selector" => ["dkim", "create", "--domain", "example.test", "--selector", "a.b"],
            "rotate without key" => ["dkim", "rotate", "--domain", "example.test"],
            "show without key" => ["dkim", "show", "--domain", "example.test"],
            "bad algorithm" => ["dkim", "create", "--domain", "example.test", "--algorithm", "dsa"],
            _ => ["dkim", "create"],
        };
        if (mistake == "create twice")
        {
            await _cli.OkAsync(args);
        }

        (await _cli.RunAsync(args)).AssertCleanError(exit, text);
    }
}
