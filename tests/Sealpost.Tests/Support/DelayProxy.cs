using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Sealpost.Tests.Support;

/// <summary>
/// A TCP proxy on 127.0.0.1 that holds every chunk for <see cref="Delay"/> in each direction before
/// passing it on, in order: distance between two sites, where the kernel here has no netem. The delay
/// may be changed while connections are open.
/// </summary>
public sealed class DelayProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();

    public DelayProxy(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>One-way delay: a round trip through the proxy takes twice this.</summary>
    public TimeSpan Delay { get; set; }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var client = inbound;
                using var outbound = new TcpClient { NoDelay = true };
                client.NoDelay = true;
                try
                {
                    await outbound.ConnectAsync(_target, _stop.Token);
                    await Task.WhenAny(PumpAsync(client.GetStream(), outbound.GetStream()), PumpAsync(outbound.GetStream(), client.GetStream()));
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
                {
                }
            });
        }
    }

    private async Task PumpAsync(Stream from, Stream to)
    {
        var chunks = Channel.CreateUnbounded<(long Due, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            await foreach (var (due, bytes) in chunks.Reader.ReadAllAsync(_stop.Token))
            {
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), _stop.Token);
                }

                await to.WriteAsync(bytes, _stop.Token);
            }
        });
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                chunks.Writer.TryWrite((Stopwatch.GetTimestamp() + (long)(Delay.TotalSeconds * Stopwatch.Frequency), buffer[..n]));
            }
        }
        finally
        {
            chunks.Writer.TryComplete();
        }

        await writer;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
