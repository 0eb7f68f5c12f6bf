using System.Net.Http.Json;
using Sealpost.Server.Hosting;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// Node A, unsealed by two officers, serves peer unseal over mutual TLS. Node B (a second node with the
/// same keys: a copy of A's folder) whose certificate k officers approved unseals itself from A; node C,
/// not approved, stays sealed. Real processes, real listeners.
/// </summary>
public sealed class PeerClusterFixture : IAsyncLifetime
{
    public TempFolder Folder { get; } = new();
    public CliRunner Cli { get; private set; } = null!;
    public IReadOnlyList<string> Shares { get; private set; } = [];
    public ChildProcess NodeA { get; private set; } = null!;
    public string PeerUrl { get; private set; } = "";

    /// <summary>A node's certificate and key, made as an operator would (self-signed).</summary>
    public (string Certificate, string Key) NodeCertificate(string name)
    {
        var (cert, key) = (Folder.Sub(name + ".pem"), Folder.Sub(name + ".key"));
        if (!File.Exists(cert))
        {
            Sealpost.Server.Tls.DevCertificate.Create(cert, key, name);
        }

        return (cert, key);
    }

    public static string[] PeerSettings((string Certificate, string Key) node, string key, string value) =>
    [
        "--set", "Vault:Peer:CertificateFile=" + node.Certificate, "--set", "Vault:Peer:KeyFile=" + node.Key,
        "--set", $"Vault:Peer:{key}={value}", "--set", "Vault:AutoUnsealRetrySeconds=1",
    ];

    public async Task InitializeAsync()
    {
        (Cli, Shares) = await SealedFolders.InitAsync(Folder, shares: 3, threshold: 2);
        var fingerprint = (await Cli.OkAsync("peer", "fingerprint", "--certificate", NodeCertificate("node-b").Certificate)).Out.Trim();
        await Cli.OkWithInputAsync(Shares[0] + "\n" + Shares[2] + "\n", "peer", "approve", fingerprint, "--label", "node-b");
        foreach (var node in new[] { "b", "c" })
        {
            DataFolders.Copy(Cli.DataDirectory, Folder.Sub("data-" + node));
        }

        NodeA = SealedFolders.Serve(Folder, Cli.DataDirectory, PeerSettings(NodeCertificate("node-a"), "Listen", "127.0.0.1:0"));
        await NodeA.WaitForLineAsync(l => l.TrimStart().StartsWith("imap starttls", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await Cli.OkWithInputAsync(Shares[1] + "\n", "unseal");
        await Cli.OkWithInputAsync(Shares[0] + "\n", "unseal");
        var line = await NodeA.WaitForLineAsync(l => l.TrimStart().StartsWith("peer unseal", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        PeerUrl = "https://" + line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
    }

    public Task DisposeAsync()
    {
        NodeA.Dispose();
        Folder.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PeerUnsealTests(PeerClusterFixture cluster) : IClassFixture<PeerClusterFixture>
{
    private ChildProcess Node(string name, string certificateName) =>
        SealedFolders.Serve(cluster.Folder, cluster.Folder.Sub("data-" + name), PeerClusterFixture.PeerSettings(cluster.NodeCertificate(certificateName), "Url", cluster.PeerUrl));

    [Fact]
    public async Task An_approved_node_unseals_itself_from_its_peer_and_both_record_it()
    {
        using var b = Node("b", "node-b");
        await b.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var url = b.Lines.Single(l => l.TrimStart().StartsWith("HTTPS", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        using var http = SealedFolders.Https();
        var health = (await http.GetFromJsonAsync<HealthReport>(url))!;
        Assert.Equal("ok", health.Status);
        Assert.StartsWith($"unsealed by peer {cluster.PeerUrl}", health.Keystore);
        await cluster.NodeA.WaitForStderrAsync("master key handed to", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_node_whose_certificate_nobody_approved_stays_sealed_and_is_told_why()
    {
        using var c = Node("c", "node-c");
        await c.WaitForLineAsync(l => l.TrimStart().StartsWith("Peer unseal", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await c.WaitForStderrAsync("not approved", TimeSpan.FromSeconds(30));
        await cluster.NodeA.WaitForStderrAsync("is not approved", TimeSpan.FromSeconds(30));
        using var http = SealedFolders.Https();
        using var response = await http.GetAsync($"https://{SealedFolders.Listener(c, "https")}/health");
        Assert.Equal("sealed", (await response.Content.ReadFromJsonAsync<HealthReport>())!.Status);
    }

    [Fact]
    public async Task The_peer_listener_refuses_a_client_without_a_certificate()
    {
        using var http = SealedFolders.Https();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.PostAsync(cluster.PeerUrl + "/v1/peer/master-key", null));
    }

    [Theory]
    [InlineData("not-hex", "SHA-256 in hex")]
    [InlineData("abcd", "SHA-256 in hex")]
    public async Task Approving_a_malformed_fingerprint_is_refused_with_one_line(string fingerprint, string fragment)
    {
        var result = await cluster.Cli.RunWithInputAsync(cluster.Shares[0] + "\n" + cluster.Shares[1] + "\n", "peer", "approve", fingerprint, "--label", "x");
        result.AssertCleanError(1, fragment);
    }
}
