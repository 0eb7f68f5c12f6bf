using System.Net;
using System.Net.Sockets;

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
}
