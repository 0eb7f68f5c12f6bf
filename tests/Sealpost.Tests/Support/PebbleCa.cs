using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Sealpost.Tests.Support;

/// <summary>
/// Let's Encrypt's test ACME CA (Debian's pebble) on 127.0.0.1, validating http-01 challenges at
/// <c>challengePort</c> of whatever address <paramref name="dns"/> gives for a name; killed on dispose.
/// Its own HTTPS certificate comes from a throw-away CA (<see cref="TlsRootFile"/>).
/// </summary>
public sealed class PebbleCa : IDisposable
{
    private readonly TempFolder _folder = new("sealpost-pebble");
    private readonly TestCa _tls = new("pebble-tls");
    private ChildProcess? _process;

    private PebbleCa(int port, int managementPort)
    {
        Port = port;
        ManagementPort = managementPort;
    }

    public int Port { get; }

    public int ManagementPort { get; }

    /// <summary>The CA's name, which the test's DNS answers with 127.0.0.1 (the server resolves it as it resolves mail peers).</summary>
    public const string Host = "ca.pebble.test";

    public string DirectoryUrl => $"https://{Host}:{Port}/dir";

    /// <summary>The CA that signs pebble's own HTTPS certificate: what a client of the ACME API trusts.</summary>
    public string TlsRootFile => _tls.RootFile;

    public string Output => _process is null ? "" : string.Join('\n', _process.Lines) + _process.Stderr;

    /// <summary>Picks the ports; <see cref="StartAsync"/> later, once the challenge port is known.</summary>
    public static PebbleCa Prepare() => new(FreePort(), FreePort());

    public async Task StartAsync(int challengePort, IPEndPoint dns)
    {
        var pebble = Tools.Require("pebble");
        var (certificate, key) = _tls.Issue(Host);
        var config = _folder.Sub("pebble.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            pebble = new
            {
                listenAddress = $"127.0.0.1:{Port}",
                managementListenAddress = $"127.0.0.1:{ManagementPort}",
                certificate,
                privateKey = key,
                httpPort = challengePort,
                tlsPort = FreePort(),
                ocspResponderURL = "",
                externalAccountBindingRequired = false,
            },
        }));
        // No artificial validation sleeps; pebble still rejects 5% of nonces and reuses half the authorisations, as it is meant to.
        _process = ChildProcess.StartExecutable(pebble, ["-config", config, "-dnsserver", dns.ToString()], new Dictionary<string, string> { ["PEBBLE_VA_NOSLEEP"] = "1" });
        await _process.WaitForLineAsync(l => l.Contains("ACME directory available at", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
    }

    /// <summary>The root that pebble's issued certificates chain to (made anew at every start).</summary>
    public async Task<string> IssuingRootAsync()
    {
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
        return await http.GetStringAsync($"https://127.0.0.1:{ManagementPort}/roots/0");
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _process?.Dispose();
        _tls.Dispose();
        _folder.Dispose();
    }
}
