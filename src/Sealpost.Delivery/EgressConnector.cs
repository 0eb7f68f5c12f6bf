using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Sealpost.Delivery;

/// <summary>
/// The one place outbound delivery opens sockets (data residency: an architecture test keeps every
/// other outbound connection out of this assembly). Connects to an address a route resolved: a mail
/// peer, never anything a message names.
/// </summary>
public sealed class EgressConnector
{
    public async Task<Socket> ConnectAsync(IPAddress address, int port, TimeSpan timeout, CancellationToken ct)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            await socket.ConnectAsync(new IPEndPoint(address, port), deadline.Token);
            return socket;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An HTTPS client (MTA-STS policies) whose connections go through <see cref="ConnectAsync"/>, to
    /// addresses <paramref name="resolve"/> gives for the URL's host; no redirects, no proxy, no cookies.
    /// </summary>
    public HttpClient CreateHttpClient(Func<string, CancellationToken, Task<IReadOnlyList<IPAddress>>> resolve,
        Func<string, X509Certificate?, SslPolicyErrors, bool> validate, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            ConnectCallback = async (context, ct) =>
            {
                foreach (var address in await resolve(context.DnsEndPoint.Host, ct))
                {
                    try
                    {
                        return new NetworkStream(await ConnectAsync(address, context.DnsEndPoint.Port, timeout, ct), ownsSocket: true);
                    }
                    catch (SocketException)
                    {
                    }
                }

                throw new HttpRequestException($"no address of {context.DnsEndPoint.Host} answered");
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, _, errors) =>
            validate(((SslStream)sender).TargetHostName, certificate, errors);
        return new HttpClient(handler) { Timeout = timeout };
    }
}
