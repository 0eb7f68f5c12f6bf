using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Server;
using Sealpost.Server.Hosting;
using Sealpost.Server.Tls;

namespace Sealpost.Tests.Support;

/// <summary>A real server on 127.0.0.1 port 0 over a fresh data folder; stopped and removed on dispose.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly TempFolder _folder;

    private TestServer(TempFolder folder, SealpostServer server, StringWriter logs)
    {
        _folder = folder;
        Server = server;
        Logs = logs;
    }

    public SealpostServer Server { get; }

    public StringWriter Logs { get; }

    public Uri Https => Server.HttpsEndpoints[0];

    /// <param name="officers">
    /// A folder initialised with the officers' trust anchor instead (no local officer pair: key versions
    /// wait for two people); <paramref name="prepare"/> runs on it before the server starts.
    /// </param>
    public static async Task<TestServer> StartAsync(Action<SealpostOptions>? configure = null, bool dev = true, TestOfficers? officers = null, Func<SealpostRuntime, Task>? prepare = null)
    {
        var folder = new TempFolder("sealpost-server");
        var options = TestOptions.For(folder.Sub("data"));
        options.Tls.ReloadCheckSeconds = 1;
        configure?.Invoke(options);
        var logs = new StringWriter();
        if (officers is not null)
        {
            await using (var runtime = await SealpostRuntime.InitialiseAsync(options, NullLoggerFactory.Instance, dev: false, null, anchor: officers.Anchor))
            {
                await runtime.Directory.AddDomainAsync(SealpostRuntime.LocalAdministrator, DevEnvironment.DemoDomain, "default");
                await (prepare?.Invoke(runtime) ?? Task.CompletedTask);
            }

            options.Tls.Certificates.Add(DevCertificate.Ensure(new DataFolder(options.DataDirectory).TlsFolder, options.Hostname));
        }
        else if (dev)
        {
            await DevEnvironment.PrepareAsync(options, NullLoggerFactory.Instance);
        }

        var server = await SealpostServer.StartAsync(new ServerStartOptions(options, dev, TextWriter.Synchronized(logs)));
        return new TestServer(folder, server, logs);
    }

    /// <summary>Completes a TLS handshake as <paramref name="serverName"/> (SNI) and returns the certificate the server chose.</summary>
    public async Task<X509Certificate2> HandshakeAsync(string serverName)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(Https.Host, Https.Port);
        await using var tls = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = serverName });
        return new X509Certificate2(tls.RemoteCertificate!);
    }

    public HttpClient HttpClient(X509Certificate2 trusted) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            // Trust exactly the server's certificate, as a client pinned to it would.
            RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == trusted.GetCertHashString(),
        },
    })
    { Timeout = TimeSpan.FromSeconds(10) };

    public string DevCertificateFile => Path.Combine(Server.Runtime.Folder.TlsFolder, DevCertificate.CertificateFileName);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _folder.Dispose();
    }
}
