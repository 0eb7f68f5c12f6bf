using System.Net;
using System.Net.Http.Json;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Configuration;
using Sealpost.Domain;

namespace Sealpost.Server.Unseal;

/// <summary>
/// The <c>peer</c> auto-unseal provider. An unsealed node serves its master key over mutual TLS
/// (<c>Vault:Peer:Listen</c>) to nodes whose client certificate the security officers approved
/// (<c>sealpost peer approve</c>, kept sealed in the keystore); a sealed node with <c>Vault:Peer:Url</c>
/// asks for it. Restarts and rolling upgrades of a cluster then need no officer while one node runs.
/// The asking node does not verify the serving node's certificate: it sends nothing secret, the key
/// travels only inside a TLS session bound to its own certificate (a relay would need its private
/// key), and a key that does not open its unseal.json is refused.
/// </summary>
public sealed class PeerUnsealListener : IAsyncDisposable
{
    public const string Path = "/v1/peer/master-key";
    private readonly WebApplication _app;

    private PeerUnsealListener(WebApplication app, IPEndPoint endPoint)
    {
        _app = app;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    public static async Task<PeerUnsealListener> StartAsync(SealpostOptions options, SealpostRuntime runtime, CancellationToken ct)
    {
        var peer = options.Vault.Peer;
        OptionsValidator.TryParseEndpoint(peer.Listen!, out var endpoint);
        var certificate = LoadCertificate(peer);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? bound = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024;
            kestrel.Listen(endpoint, listen =>
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    SslProtocols = SslProtocols.Tls13,
                    ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                    ClientCertificateValidation = (_, _, _) => true, // approval is by fingerprint, below
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                });
                bound = listen;
            });
        });

        var app = builder.Build();
        var logger = runtime.LoggerFactory.CreateLogger("Sealpost.Unseal");
        app.MapPost(Path, async (HttpContext http) =>
        {
            var presented = http.Connection.ClientCertificate ?? await http.Connection.GetClientCertificateAsync(http.RequestAborted);
            if (presented is null)
            {
                return Results.Problem(statusCode: 401, title: "Certificate required", detail: "peer unseal needs this node's approved client certificate");
            }

            var fingerprint = ConfigurationService.Fingerprint(presented.RawData);
            var actor = Actor.Anonymous("peer", http.Connection.RemoteIpAddress?.ToString(), "node sha256:" + fingerprint[..16]);
            var key = await runtime.Configuration.ReleaseMasterKeyToPeerAsync(actor, fingerprint, http.RequestAborted);
            if (key is null)
            {
                UnsealLog.PeerRefused(logger, http.Connection.RemoteIpAddress?.ToString() ?? "?", fingerprint);
                return Results.Problem(statusCode: 403, title: "Not approved",
                    detail: $"this node's certificate (sha256 {fingerprint}) is not approved for peer unseal; a security officer runs 'sealpost peer approve'");
            }

            try
            {
                UnsealLog.PeerServed(logger, http.Connection.RemoteIpAddress?.ToString() ?? "?", fingerprint);
                return Results.Json(new PeerKeyResponse(Convert.ToBase64String(key)));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
            }
        });
        app.MapFallback(() => Results.Problem(statusCode: 404, title: "Not found", detail: "this listener serves peer unseal only"));
        await app.StartAsync(ct);
        return new PeerUnsealListener(app, bound!.IPEndPoint!);
    }

    /// <summary>A sealed node asks its peer for the master key: the key, or a one-line reason.</summary>
    public static async Task<byte[]> FetchAsync(PeerOptions peer, CancellationToken ct)
    {
        using var certificate = LoadCertificate(peer);
        using var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificates = [certificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => true, // see the class summary
            },
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync(new Uri(new Uri(peer.Url!), Path), null, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"the peer {peer.Url} cannot be reached: {ex.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"the peer {peer.Url} did not answer in time");
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Forbidden)
            {
                throw new SealpostException(ErrorKind.Forbidden, $"the peer refused this node's certificate (sha256 {ConfigurationService.Fingerprint(certificate.RawData)}): not approved");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"the peer {peer.Url} answered {(int)response.StatusCode}");
            }

            var body = await response.Content.ReadFromJsonAsync<PeerKeyResponse>(ct);
            try
            {
                return Convert.FromBase64String(body?.MasterKey ?? "");
            }
            catch (FormatException)
            {
                throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"the peer {peer.Url} answered something that is not a key");
            }
        }
    }

    private static X509Certificate2 LoadCertificate(PeerOptions peer)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(peer.CertificateFile!, peer.KeyFile!);
            // Exported and re-imported: TLS on Linux wants a key it can use from a PKCS#12 store.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new SealpostException(ErrorKind.InvalidInput, $"Vault:Peer: cannot load the node certificate {peer.CertificateFile} with its key: {ex.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private sealed record PeerKeyResponse(string MasterKey);
}
