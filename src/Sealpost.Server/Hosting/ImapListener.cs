using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sealpost.Connections;
using Sealpost.Imap;

namespace Sealpost.Server.Hosting;

/// <summary>
/// One IMAP listening socket. IMAP sessions sit idle for hours by the thousand, so they run on a plain
/// Socket + SslStream rather than Kestrel: with zero-byte reads an idle TLS session holds no managed
/// read buffer, which is what keeps it near the ~35 KB of OpenSSL's own state (STACK.md).
/// </summary>
internal sealed class ImapListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ImapContext _context;
    private readonly ImapListenerKind _kind;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _sessions = new();
    private readonly Task _accepting;

    private ImapListener(Socket socket, ImapContext context, ImapListenerKind kind, ILogger logger)
    {
        _socket = socket;
        _context = context;
        _kind = kind;
        _logger = logger;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public ImapListenerKind Kind => _kind;

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public static ImapListener Start(IPEndPoint endpoint, ImapListenerKind kind, ImapContext context, ILogger logger)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(1024);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ImapListener(socket, context, kind, logger);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (Volatile.Read(ref _closed))
            {
                return; // the listening socket was closed for the stop: not a failure worth a warning
            }
            catch (SocketException ex)
            {
                ServerLog.AcceptFailed(_logger, ex.SocketErrorCode.ToString());
                continue;
            }

            client.NoDelay = true;
            var session = Task.Run(() => ServeAsync(client));
            _sessions.TryAdd(session, 0);
            _ = session.ContinueWith(t => _sessions.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var remote = client.RemoteEndPoint as IPEndPoint;
        await using var network = new NetworkStream(client, ownsSocket: true);
        SslStream? ssl = null;
        try
        {
            Stream transport = network;
            IPEndPoint? proxiedFrom = null;
            if (_kind == ImapListenerKind.ImplicitTls && _context.Imap.ProxyProtocol)
            {
                // The load balancer's header comes in clear, before the client's TLS handshake.
                var (ok, source, error) = await Sealpost.Connections.ProxyProtocol.ReadExactlyAsync(network, _stopping.Token);
                if (!ok)
                {
                    ImapSession.RefusedProxyHeader(_context, remote?.Address.ToString() ?? "unknown", error);
                    return;
                }

                proxiedFrom = source ?? remote;
            }

            if (_kind == ImapListenerKind.ImplicitTls)
            {
                ssl = new SslStream(network, leaveInnerStreamOpen: true);
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                handshake.CancelAfter(TimeSpan.FromSeconds(30));
                await ssl.AuthenticateAsServerAsync((_, hello, _, _) => ValueTask.FromResult(_context.TlsOptions(hello.ServerName)), null, handshake.Token);
                TlsIdleBuffers.Enable(ssl);
                Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake("imap", ssl);
                transport = ssl;
            }

            await new ImapSession(_context, _kind, transport, remote, proxiedFrom).RunAsync(_stopping.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            // A failed handshake or a vanished peer: nothing to answer.
        }
        catch (Exception ex)
        {
            ServerLog.SessionCrashed(_logger, ex.GetType().Name);
        }
        finally
        {
            if (ssl is not null)
            {
                await ssl.DisposeAsync();
            }
        }
    }

    /// <summary>Closes the listening socket: new connections are refused from now on; sessions go on.</summary>
    public void StopAccepting()
    {
        Volatile.Write(ref _closed, true);
        _socket.Dispose();
    }

    private bool _closed;

    /// <summary>
    /// Stops accepting, gives sessions until <paramref name="grace"/> to end by themselves (after the
    /// server's stop began, each ends after its current command with BYE [UNAVAILABLE]), then cuts the
    /// rest (BYE as they go) and waits a moment more for them.
    /// </summary>
    public async ValueTask StopAsync(TimeSpan grace)
    {
        StopAccepting();
        await Task.WhenAll(_sessions.Keys).WaitAsync(grace).ContinueWith(_ => { }, TaskScheduler.Default);
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _socket.Dispose();
        await _accepting;
        // Sessions see the cancellation and say BYE; give them a moment, not forever.
        await Task.WhenAll(_sessions.Keys).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stopping.Dispose();
    }
}
