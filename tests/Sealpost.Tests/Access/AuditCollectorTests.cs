using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Access;

/// <summary>
/// The signed chain head reaches the auditors' collector as RFC 5424 syslog over TLS (RFC 5425),
/// octet-counted (RFC 6587): a python3 ssl listener plays the collector, with its own certificate that the
/// server is told to trust; the head it received then verifies the trail.
/// </summary>
public sealed partial class AuditCollectorTests
{
    [Fact]
    public async Task The_head_is_pushed_to_a_tls_syslog_collector_and_verifies_the_trail()
    {
        Tools.Require("openssl");
        using var folder = new TempFolder("sealpost-collector");
        var cert = Path.Combine(folder.Path, "collector.pem");
        var key = Path.Combine(folder.Path, "collector.key");
        var made = await Tools.RunAsync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=collector.test", "-addext", "subjectAltName=DNS:collector.test", "-days", "1", "-keyout", key, "-out", cert]);
        Assert.True(made.Exit == 0, made.Output);

        // The collector: a TLS listener on 127.0.0.1 port 0 that prints its port, takes one
        // connection, and prints everything received until the sender closes.
        var collector = Process.Start(new ProcessStartInfo(Tools.Require("python3"))
        {
            ArgumentList =
            {
                "-c", """
                import socket, ssl, sys
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(sys.argv[1], sys.argv[2])
                listener = socket.create_server(("127.0.0.1", 0))
                print(listener.getsockname()[1], flush=True)
                conn, _ = listener.accept()
                tls = ctx.wrap_socket(conn, server_side=True)
                data = b""
                while True:
                    try:
                        chunk = tls.recv(65536)
                    except (ssl.SSLError, OSError):
                        break
                    if not chunk:
                        break
                    data += chunk
                sys.stdout.write(data.decode("utf-8"))
                """,
                cert, key,
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        using var _ = collector;
        var port = int.Parse((await collector.StandardOutput.ReadLineAsync())!);
        var received = collector.StandardOutput.ReadToEndAsync();

        var server = await TestServer.StartAsync(o =>
        {
            o.Audit.Collector = $"127.0.0.1:{port}";
            o.Audit.CollectorCaFile = cert;
            o.Audit.CollectorServerName = "collector.test";
            o.Audit.CollectorIntervalSeconds = 1;
        });
        var data = server.Server.Runtime.Options.DataDirectory;
        string text;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await collector.WaitForExitAsync(timeout.Token);
            text = await received;
        }
        finally
        {
            await server.Server.DisposeAsync();
        }

        // RFC 6587 §3.4.1: MSG-LEN SP SYSLOG-MSG, the length in octets.
        var match = FrameRegex().Match(text);
        Assert.True(match.Success, "not an octet-counted RFC 5424 message: " + text);
        Assert.Equal(int.Parse(match.Groups["len"].Value), Encoding.UTF8.GetByteCount(match.Groups["msg"].Value));
        var head = match.Groups["json"].Value;
        Assert.Contains($"\"seq\":{match.Groups["seq"].Value},", head);

        var heads = Path.Combine(folder.Path, "heads.jsonl");
        await File.WriteAllTextAsync(heads, head + "\n");
        var verified = await new CliRunner(data).OkAsync("audit", "verify", "--heads", heads);
        Assert.Contains("verified", verified.Out);
    }

    [GeneratedRegex("""^(?<len>\d+) (?<msg><110>1 \S+ \S+ sealpost - audit-head \[sealpost@32473 seq="(?<seq>\d+)" hash="[0-9A-F]{64}"\] (?<json>\{.*\}))$""", RegexOptions.Singleline)]
    private static partial Regex FrameRegex();
}
