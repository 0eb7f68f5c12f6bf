using System.Net;
using Sealpost.Delivery;
using Sealpost.Domain;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// The MTA-STS policy (RFC 8461) served for hosted domains at https://mta-sts.DOMAIN/.well-known/mta-sts.txt,
/// fetched with curl as a sending MTA does and read with our own outbound policy parser, and its id in
/// the domain's DNS records.
/// </summary>
public sealed class MtaStsHostingTests
{
    private static async Task<(int Exit, string Body)> CurlAsync(TestServer server, string host) =>
        await Tools.RunAsync("curl", ["-sk", "--max-time", "10", "-w", "\n%{http_code} %{content_type}", "--resolve", $"{host}:{server.Https.Port}:127.0.0.1",
            $"https://{host}:{server.Https.Port}/.well-known/mta-sts.txt"]);

    [Fact]
    public async Task A_sender_fetches_the_policy_from_mta_sts_dot_the_domain()
    {
        await using var server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        var (exit, output) = await CurlAsync(server, "mta-sts.example.test");
        Assert.Equal(0, exit);
        var status = output[(output.LastIndexOf('\n') + 1)..];
        Assert.StartsWith("200 text/plain", status);
        var policy = MtaStsPolicy.Parse("x", output[..output.LastIndexOf('\n')]);
        Assert.NotNull(policy);
        Assert.Equal("testing", policy.Mode);
        Assert.Equal([server.Server.Runtime.Options.Hostname], policy.MxPatterns);
        Assert.Equal(TimeSpan.FromDays(7), policy.MaxAge);
    }

    [Fact]
    public async Task The_policy_says_the_configured_mode()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Delivery.Enabled = false;
            o.Smtp.MtaStsMode = "enforce";
            o.Smtp.MtaStsMaxAgeDays = 30;
        });
        var (_, output) = await CurlAsync(server, "mta-sts.example.test");
        var policy = MtaStsPolicy.Parse("x", output[..output.LastIndexOf('\n')])!;
        Assert.Equal(("enforce", TimeSpan.FromDays(30)), (policy.Mode, policy.MaxAge));
    }

    [Fact]
    public async Task A_domain_not_hosted_here_has_no_policy()
    {
        await using var server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        var (_, output) = await CurlAsync(server, "mta-sts.elsewhere.test");
        Assert.StartsWith("404", output[(output.LastIndexOf('\n') + 1)..]);
    }

    [Fact]
    public async Task The_domains_records_carry_the_policy_id_and_the_policy_host()
    {
        await using var server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        var runtime = server.Server.Runtime;
        var records = await runtime.Dkim.RecordsAsync(SealpostRuntime.LocalAdministrator, "example.test", runtime.Options.Hostname);
        var id = HostedMtaSts.From(runtime.Options.Smtp).Id(runtime.Options.Hostname);
        Assert.Contains(records, r => r is { Name: "_mta-sts.example.test", Type: "TXT" } && r.Value == $"v=STSv1; id={id}");
        Assert.Contains(records, r => r is { Name: "mta-sts.example.test", Type: "CNAME" } && r.Value == runtime.Options.Hostname + ".");
    }

    [Fact]
    public void The_policy_id_changes_when_the_policy_does()
    {
        var testing = new HostedMtaSts("testing", TimeSpan.FromDays(7));
        Assert.NotEqual(testing.Id("mail.example.test"), (testing with { Mode = "enforce" }).Id("mail.example.test"));
        Assert.NotEqual(testing.Id("mail.example.test"), testing.Id("mx2.example.test"));
        Assert.Matches("^[a-z0-9]{1,32}$", testing.Id("mail.example.test"));
    }
}
