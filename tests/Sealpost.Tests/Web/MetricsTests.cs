using System.Net;
using System.Text.Json;
using MailKit.Net.Imap;
using MailKit.Security;
using Sealpost.Core.Access;
using Sealpost.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// The Prometheus endpoint after real IMAP and SMTP traffic, read by a real parser (python3-prometheus-client):
/// the families are there with the counts the traffic made, and no label carries an address, a subject or a
/// folder name. Only operators, platform administrators and auditors may scrape it.
/// </summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private const string Marker = "METRICSMARKER";
    private TestServer _server = null!;
    private ApiClient _api = null!;
    private string _operator = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        _api = new ApiClient(_server);
        (_operator, _, _) = await _api.AdministratorAsync("scraper@example.test", "a scraping operator's passphrase", Role.Operator);
        using (var guesser = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await guesser.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
            guesser.AuthenticationMechanisms.Clear(); // LOGIN only: one failure
            await Assert.ThrowsAsync<AuthenticationException>(() => guesser.AuthenticateAsync($"{Marker}@example.test", "not a password"));
        }

        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync($"{Marker}-folder", true);
        await imap.DisconnectAsync(true);
        await _server.SendAsAliceAsync($"{Marker} subject", "bob@example.test");
        await _server.SendAsAliceAsync($"{Marker} outbound", "someone@outside.example");
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _server.DisposeAsync();
    }

    /// <summary>The scrape as prometheus_client parses it: family name, type, and each sample's name, labels and value.</summary>
    private async Task<JsonElement> ScrapeAsync()
    {
        using var response = await _api.SendAsync(HttpMethod.Get, "/api/v1/metrics", token: _operator);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        const string parse = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = [{"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
                   for f in text_string_to_metric_families(sys.stdin.read())]
            print(json.dumps(out))
            """;
        var (exit, output) = await Tools.RunAsync("/usr/bin/python3", ["-c", parse], text);
        Assert.True(exit == 0, "prometheus_client could not parse the scrape (python3-prometheus-client is installed by scripts/deps.sh): " + output);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static IEnumerable<JsonElement> Samples(JsonElement families, string family) =>
        families.EnumerateArray().Where(f => f.GetProperty("name").GetString() == family).SelectMany(f => f.GetProperty("samples").EnumerateArray());

    private static string Label(JsonElement sample, string name) => sample.GetProperty("labels").TryGetProperty(name, out var v) ? v.GetString()! : "";

    [Theory]
    [InlineData("sealpost_logins", "counter")]
    [InlineData("sealpost_sessions", "counter")]
    [InlineData("sealpost_sessions_active", "gauge")]
    [InlineData("sealpost_session_duration_seconds", "histogram")]
    [InlineData("sealpost_deliveries", "counter")]
    [InlineData("sealpost_certificate_expiry_seconds", "gauge")]
    [InlineData("sealpost_sealed", "gauge")]
    [InlineData("sealpost_command_duration_seconds", "histogram")]
    [InlineData("sealpost_audit_append_duration_seconds", "histogram")]
    [InlineData("sealpost_tls_handshakes", "counter")]
    [InlineData("sealpost_argon2_running", "gauge")]
    [InlineData("sealpost_argon2_waiting", "gauge")]
    [InlineData("sealpost_argon2_peak", "gauge")]
    [InlineData("sealpost_imap_commands_running", "gauge")]
    [InlineData("sealpost_imap_login_queue_waiting", "gauge")]
    [InlineData("sealpost_message_memory_used_bytes", "gauge")]
    [InlineData("sealpost_message_memory_capacity_bytes", "gauge")]
    [InlineData("sealpost_message_processing_used_bytes", "gauge")]
    [InlineData("sealpost_message_processing_waiting", "gauge")]
    public async Task The_scrape_has_the_family(string family, string type)
    {
        var families = await ScrapeAsync();
        Assert.Equal(type, families.EnumerateArray().Single(f => f.GetProperty("name").GetString() == family).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("imap", "CREATE")]
    [InlineData("imap", "LOGOUT")]
    [InlineData("submission", "EHLO")]
    [InlineData("submission", "MAIL")]
    public async Task Command_latency_is_recorded_by_protocol_and_command(string protocol, string command)
    {
        var counts = Samples(await ScrapeAsync(), "sealpost_command_duration_seconds")
            .Where(s => s.GetProperty("name").GetString() == "sealpost_command_duration_seconds_count" && Label(s, "protocol") == protocol && Label(s, "command") == command);
        Assert.True(counts.Sum(s => s.GetProperty("value").GetDouble()) >= 1);
    }

    [Theory]
    [InlineData("imap")]
    [InlineData("https")]
    public async Task Tls_handshakes_are_counted_by_protocol_with_the_version(string protocol)
    {
        var handshakes = Samples(await ScrapeAsync(), "sealpost_tls_handshakes").Where(s => Label(s, "protocol") == protocol).ToList();
        Assert.True(handshakes.Sum(s => s.GetProperty("value").GetDouble()) >= 1);
        Assert.All(handshakes, s => Assert.Contains(Label(s, "version"), new[] { "Tls12", "Tls13" }));
    }

    [Theory]
    [InlineData("success")]
    [InlineData("failure")]
    public async Task Imap_logins_are_counted_by_outcome(string outcome)
    {
        var logins = Samples(await ScrapeAsync(), "sealpost_logins").Where(s => Label(s, "protocol") == "imap" && Label(s, "outcome") == outcome);
        Assert.True(logins.Sum(s => s.GetProperty("value").GetDouble()) >= 1);
    }

    [Fact]
    public async Task No_label_carries_an_address_a_subject_or_a_folder_name()
    {
        var labels = (await ScrapeAsync()).EnumerateArray().SelectMany(f => f.GetProperty("samples").EnumerateArray())
            .SelectMany(s => s.GetProperty("labels").EnumerateObject().Select(l => l.Value.GetString()!)).ToList();
        Assert.NotEmpty(labels);
        Assert.DoesNotContain(labels, l => l.Contains(Marker, StringComparison.OrdinalIgnoreCase) || l.Contains('@'));
    }

    [Theory]
    [InlineData("deploy/prometheus-alerts.yml")]
    [InlineData("deploy/grafana-dashboard.json")]
    public async Task The_example_alerts_and_dashboard_use_only_series_the_server_exports(string file)
    {
        using var response = await _api.SendAsync(HttpMethod.Get, "/api/v1/metrics", token: _operator);
        var exported = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split('{', ' ')[0]).ToHashSet(StringComparer.Ordinal);
        var text = await File.ReadAllTextAsync(Path.Combine(Repository.Root, file));
        var used = System.Text.RegularExpressions.Regex.Matches(text, "sealpost_[a-z_]+").Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(used);
        Assert.Empty(used.Except(exported));
        // And each file is what its reader takes: YAML for Prometheus, JSON for Grafana.
        var (exit, output) = await Tools.RunAsync("/usr/bin/python3", ["-c", file.EndsWith(".yml", StringComparison.Ordinal)
            ? "import sys, yaml; d = yaml.safe_load(sys.stdin); assert d['groups'][0]['rules']"
            : "import sys, json; d = json.load(sys.stdin); assert d['panels']"], text);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task A_user_may_not_scrape()
    {
        var user = await _api.UserAsync("curious@example.test", "a curious user's passphrase");
        using var response = await _api.SendAsync(HttpMethod.Get, "/api/v1/metrics", token: user);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
