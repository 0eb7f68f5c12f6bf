using System.Net;
using System.Net.Http.Json;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;
using Sealpost.Server.Hosting;
using Sealpost.Tests.Support;
using Xunit.Abstractions;

namespace Sealpost.Tests.Server;

/// <summary>
/// The disaster-recovery site before any failure: a primary with a streaming standby; node A serves
/// from the primary; node B (a copy of A's data folder, so unsealed with the same master key) is
/// given only the standby's host, as a DR-site node is. B must wait as "standby", not fail.
/// </summary>
public sealed class StandbySite : IAsyncLifetime
{
    private readonly TempFolder _folder = new();

    public PostgresCluster Primary { get; private set; } = null!;

    public PostgresCluster Standby { get; private set; } = null!;

    public ChildProcess Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Primary = await PostgresCluster.StartNewAsync();
        var connection = await Primary.CreateDatabaseAsync();
        using (var a = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(_folder.Sub("a"), connection)))
        {
            await TwoNodes.EndpointsAsync(a); // the schema, the keys and the dev accounts are in the database
        }

        DataFolders.Copy(_folder.Sub("a"), _folder.Sub("b"));
        Standby = await Primary.StartStandbyAsync("dr_site");
        // The DR site's own database only: a node there serves when, and only when, it is the primary.
        var local = new NpgsqlConnectionStringBuilder(connection) { Port = Standby.Port }.ConnectionString;
        Node = ChildProcess.Start("sealpost", TwoNodes.NodeArgs(_folder.Sub("b"), local, "--set", "Audit:Node=dr-node"));
        await Node.WaitForLineAsync(l => l.TrimStart().StartsWith("smtp inbound (standby", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    public IPEndPoint Listener(string label) => SealedFolders.Listener(Node, label);

    public async Task<HealthReport> HealthAsync(HttpStatusCode expected)
    {
        using var http = SealedFolders.Https();
        using var response = await http.GetAsync($"https://{Listener("https")}/health/ready");
        Assert.Equal(expected, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<HealthReport>())!;
    }

    public async Task DisposeAsync()
    {
        Node.Dispose();
        await Standby.StopAndDeleteAsync();
        await Primary.StopAndDeleteAsync();
        _folder.Dispose();
    }
}

public sealed class StandbyNodeTests(StandbySite site) : IClassFixture<StandbySite>
{
    [Fact]
    public async Task A_node_on_a_standby_database_answers_health_503_standby_with_the_replay_state()
    {
        var health = await site.HealthAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("standby", health.Status);
        Assert.StartsWith("the store's database is a standby (in recovery", health.Cause, StringComparison.Ordinal);
        Assert.StartsWith("unsealed", health.Keystore, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("smtp inbound", "421 4.3.0 ")]
    [InlineData("smtp submission", "421 4.3.0 ")]
    [InlineData("imap starttls", "* BYE [UNAVAILABLE] ")]
    public async Task A_node_on_a_standby_database_greets_with_a_temporary_refusal(string label, string expected)
    {
        var greeting = await SealedFolders.GreetingAsync(site.Listener(label));
        Assert.StartsWith(expected, greeting);
        Assert.Contains("standby until its database is promoted", greeting);
    }

    [Fact]
    public void A_node_on_a_standby_database_logs_why_it_waits()
    {
        Assert.Contains(site.Node.Lines, l => l.StartsWith("Standby: ", StringComparison.Ordinal));
        Assert.DoesNotContain(site.Node.Lines, l => l.StartsWith("Ready.", StringComparison.Ordinal));
    }
}

public sealed class StandbyPromotionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_standby_node_serves_by_itself_once_its_database_is_promoted()
    {
        var site = new StandbySite();
        await site.InitializeAsync();
        try
        {
            var smtp = site.Listener("smtp inbound");
            await site.Primary.StopAsync(immediate: true); // the primary site is lost
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await site.Standby.PromoteAsync();
            var (imap, served) = await TwoNodes.EndpointsAsync(site.Node);
            output.WriteLine($"the standby node was ready {clock.Elapsed.TotalSeconds:F1} s after the promotion");
            Assert.Equal(smtp, served); // the same ports the gate held
            Assert.Equal("ok", (await site.HealthAsync(HttpStatusCode.OK)).Status);

            using (var client = new SmtpClient())
            {
                await client.ConnectAsync(served.Address.ToString(), served.Port, SecureSocketOptions.None);
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("sender@elsewhere.test"));
                message.To.Add(MailboxAddress.Parse("alice@example.test"));
                message.Subject = "after the failover";
                message.MessageId = "promoted@standby.test";
                message.Body = new TextPart("plain") { Text = "delivered on the promoted standby" };
                await client.SendAsync(message);
                await client.DisconnectAsync(true);
            }

            using var reader = await TwoNodes.ImapAsync(imap, "alice@example.test", "alice-dev-password");
            await reader.Inbox.OpenAsync(FolderAccess.ReadOnly);
            var ids = (await reader.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope)).Select(s => s.Envelope?.MessageId).ToList();
            Assert.Contains("promoted@standby.test", ids);
        }
        finally
        {
            await site.DisposeAsync();
        }
    }
}
