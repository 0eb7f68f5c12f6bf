using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Sealpost.Connections;

namespace Sealpost.Server.Hosting;

/// <summary>
/// What one listening socket does with each connection, in this order: the load balancer's PROXY header
/// (read from the raw socket, before any TLS), TLS on an implicit-TLS port, the per-address and total
/// connection gate (refused with the protocol's last word), then the protocol's session. SMTP, IMAP and
/// the logins to come differ only in these fields.
/// </summary>
internal sealed record ConnectionPipeline(
    string Protocol,
    bool ImplicitTls,
    bool ProxyProtocol,
    ConnectionGate Gate,
    Func<string?, SslServerAuthenticationOptions> TlsOptions,
    Action<string, string> Refused,
    Func<string, string> RefusalLine,
    Func<Connection, CancellationToken, Task> Serve);

/// <summary>
/// One listening socket for a mail protocol. Mail sessions sit idle for hours by the thousand, so they run
/// on a plain Socket (+ SslStream) rather than Kestrel: with zero-byte reads an idle TLS session holds no
/// managed read buffer, which is what keeps it near the ~35 KB of OpenSSL's own state (STACK.md). A
/// session's end, however it comes (a client that hangs up, a broken handshake, the server's stop), is
/// quiet; only a session that fails is logged, by its exception's type.
/// </summary>
internal sealed class ConnectionListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ConnectionPipeline _pipeline;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _sessions = new();
    private readonly Task _accepting;
    private bool _closed;

    private ConnectionListener(Socket socket, ConnectionPipeline pipeline, ILogger logger)
    {
        _socket = socket;
        _pipeline = pipeline;
        _logger = logger;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The bound endpoint (the real port when configured with port 0).</summary>
    public IPEndPoint EndPoint { get; }

    public static ConnectionListener Start(IPEndPoint endpoint, ConnectionPipeline pipeline, ILogger logger)
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
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new IOException($"cannot listen on {endpoint} for {pipeline.Protocol}: {ex.Message}", ex);
        }

        return new ConnectionListener(socket, pipeline, logger);
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
            if (_pipeline.ProxyProtocol)
            {
                // The load balancer's header comes in clear, before the client's first octet (or TLS handshake).
                var (ok, source, error) = await ProxyProtocol.ReadExactlyAsync(network, _stopping.Token);
                if (!ok)
                {
                    _pipeline.Refused(remote?.Address.ToString() ?? "unknown", "PROXY header: " + error);
                    return;
                }

                proxiedFrom = source ?? remote;
            }

            if (_pipeline.ImplicitTls)
            {
                ssl = new SslStream(network, leaveInnerStreamOpen: true);
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                handshake.CancelAfter(TimeSpan.FromSeconds(30));
                await ssl.AuthenticateAsServerAsync((_, hello, _, _) => ValueTask.FromResult(_pipeline.TlsOptions(hello.ServerName)), null, handshake.Token);
                TlsIdleBuffers.Enable(ssl);
                Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake(_pipeline.Protocol, ssl);
                transport = ssl;
            }

            await using var connection = new Connection(transport, remote, proxiedFrom, tls: ssl is not null);
            using var slot = _pipeline.Gate.TryEnter(connection.ClientAddress, out var refusal);
            if (slot is null)
            {
                _pipeline.Refused(connection.ClientAddress, refusal!);
                await connection.LastWordAsync(_pipeline.RefusalLine(refusal!));
                return;
            }

            await _pipeline.Serve(connection, _stopping.Token);
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
                try
                {
                    await ssl.DisposeAsync();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                }
            }
        }
    }

    /// <summary>Closes the listening socket: new connections are refused from now on; sessions go on.</summary>
    public void StopAccepting()
    {
        Volatile.Write(ref _closed, true);
        _socket.Dispose();
    }

    /// <summary>
    /// Stops accepting, gives sessions until <paramref name="grace"/> to end by themselves (after the
    /// server's stop began, each ends at its next resting point with the protocol's goodbye), then cuts
    /// the rest and waits a moment more for them.
    /// </summary>
    public async ValueTask StopAsync(TimeSpan grace)
    {
        StopAccepting();
        await Task.WhenAll(_sessions.Keys).WaitAsync(grace).ContinueWith(_ => { }, TaskScheduler.Default);
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync();
        _socket.Dispose();
        await _accepting;
        // Sessions see the cancellation and say goodbye; give them a moment, not forever.
        await Task.WhenAll(_sessions.Keys).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stopping.Dispose();
    }
}
