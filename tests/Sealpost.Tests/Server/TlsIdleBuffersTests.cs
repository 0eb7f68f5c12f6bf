using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sealpost.Connections;

namespace Sealpost.Tests.Server;

/// <summary>
/// The idle-buffer switch reaches into SslStream's private state; if a runtime update moves it, this
/// test says so (the server would silently keep ~34 KB more per idle TLS connection).
/// </summary>
public sealed class TlsIdleBuffersTests
{
    private const long ReleaseBuffers = 0x10;

    [Fact]
    public async Task Release_buffers_mode_is_set_on_a_real_server_connection_and_data_still_flows()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        var connecting = client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = await listener.AcceptTcpClientAsync();
        await connecting;

        await using var server = new SslStream(accepted.GetStream());
        await using var tlsClient = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
        await Task.WhenAll(
            server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }),
            tlsClient.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }));

        var before = TlsIdleBuffers.Mode(server);
        Assert.True(before.HasValue, TlsIdleBuffers.Unavailable);
        Assert.True(TlsIdleBuffers.Enable(server), TlsIdleBuffers.Unavailable);
        var after = TlsIdleBuffers.Mode(server)!.Value;
        Assert.Equal(ReleaseBuffers, after & ReleaseBuffers);
        Assert.Equal(before.Value | ReleaseBuffers, after); // only that bit changed

        // Buffers now come and go with the records: several round trips, both directions, larger than one record.
        var payload = RandomNumberGenerator.GetBytes(40_000);
        for (var round = 0; round < 3; round++)
        {
            await tlsClient.WriteAsync(payload);
            var received = new byte[payload.Length];
            await server.ReadExactlyAsync(received);
            Assert.Equal(payload, received);
            await server.WriteAsync(received);
            var echoed = new byte[payload.Length];
            await tlsClient.ReadExactlyAsync(echoed);
            Assert.Equal(payload, echoed);
        }
    }
}
