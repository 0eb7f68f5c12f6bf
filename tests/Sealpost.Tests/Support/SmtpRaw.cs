using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sealpost.Tests.Support;

/// <summary>A raw SMTP transcript over a real socket: send bytes exactly, read complete (multi-line) replies.</summary>
public sealed class SmtpRaw : IAsyncDisposable
{
    private readonly TcpClient? _client;
    private Stream _stream = null!;
    private readonly StringBuilder _pending = new();

    private readonly IAsyncDisposable? _owner;

    private SmtpRaw(TcpClient? client, Stream stream, IAsyncDisposable? owner = null)
    {
        _client = client;
        _stream = stream;
        _owner = owner;
    }

    /// <summary>A transcript over a stream of the test's own (an in-memory session, disposed after the stream).</summary>
    public static SmtpRaw Over(Stream stream, IAsyncDisposable? owner = null) => new(null, stream, owner);

    public static async Task<SmtpRaw> ConnectAsync(IPEndPoint endpoint)
    {
        var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        var raw = new SmtpRaw(client, client.GetStream());
        return raw;
    }

    /// <summary>The connection itself, for tests that pace their own bytes.</summary>
    public Stream Stream => _stream;

    public Task SendAsync(string text) => _stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>The next complete reply (all its lines), waiting up to 10 s.</summary>
    public async Task<string> ReplyAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[8192];
        while (true)
        {
            var text = _pending.ToString();
            var lines = text.Split("\r\n");
            for (var i = 0; i < lines.Length - 1; i++)
            {
                if (lines[i].Length >= 4 && lines[i][3] == ' ')
                {
                    var reply = string.Join("\r\n", lines.Take(i + 1));
                    _pending.Remove(0, reply.Length + 2);
                    return reply;
                }
            }

            var n = await _stream.ReadAsync(buffer, cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("server closed the connection; pending: " + _pending);
            }

            _pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
    }

    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReplyAsync();
    }

    /// <summary>True if the server has closed the connection (read returns 0 within 10 s).</summary>
    public async Task<bool> ClosedAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client?.Dispose();
        if (_owner is not null)
        {
            await _owner.DisposeAsync();
        }
    }
}
