using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Sealpost.Tests.Support;

/// <summary>
/// A raw IMAP transcript over a real socket: send bytes exactly, read responses up to a tagged one.
/// Literals in responses are read by their announced length, so message content never confuses
/// the line reader.
/// </summary>
public sealed class ImapRaw : IAsyncDisposable
{
    private readonly TcpClient? _client;
    private Stream _stream = null!;
    private readonly MemoryStream _pending = new();

    private readonly IAsyncDisposable? _owner;

    private ImapRaw(TcpClient? client, Stream stream, IAsyncDisposable? owner = null)
    {
        _client = client;
        _stream = stream;
        _owner = owner;
    }

    /// <summary>A transcript over a stream of the test's own (an in-memory session, disposed after the stream).</summary>
    public static ImapRaw Over(Stream stream, IAsyncDisposable? owner = null) => new(null, stream, owner);

    public static async Task<ImapRaw> ConnectAsync(IPEndPoint endpoint, bool tls = false)
    {
        var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        var raw = new ImapRaw(client, client.GetStream());
        if (tls)
        {
            await raw.StartTlsAsync();
        }

        return raw;
    }

    /// <summary>Greeting line.</summary>
    public Task<string> GreetingAsync() => LineAsync();

    /// <summary>The connection itself, for tests that pace their own bytes.</summary>
    public Stream Stream => _stream;

    public async Task StartTlsAsync()
    {
        var ssl = new SslStream(_stream, false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "mail.example.test" });
        _stream = ssl;
    }

    public Task SendAsync(string text) => _stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>Sends one command line and returns every response up to and including the tagged one.</summary>
    public async Task<string> CommandAsync(string line)
    {
        var tag = line.Split(' ')[0];
        await SendAsync(line + "\r\n");
        return await UntilTaggedAsync(tag);
    }

    /// <summary>Responses up to and including the line that starts with <paramref name="tag"/>, joined by CRLF.</summary>
    public async Task<string> UntilTaggedAsync(string tag)
    {
        var text = new StringBuilder();
        while (true)
        {
            var line = await LineAsync();
            text.Append(line).Append("\r\n");
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return text.ToString();
            }
        }
    }

    /// <summary>One response line; a literal it announces is read whole and included.</summary>
    public async Task<string> LineAsync()
    {
        var line = await RawLineAsync();
        var sb = new StringBuilder(line);
        while (TryLiteral(line, out var size))
        {
            var bytes = await ReadExactAsync(size);
            sb.Append("\r\n").Append(Encoding.UTF8.GetString(bytes));
            line = await RawLineAsync();
            sb.Append(line);
        }

        return sb.ToString();
    }

    private static bool TryLiteral(string line, out int size)
    {
        size = 0;
        if (!line.EndsWith('}'))
        {
            return false;
        }

        var open = line.LastIndexOf('{');
        return open >= 0 && int.TryParse(line.AsSpan(open + 1, line.Length - open - 2).TrimEnd('+'), out size);
    }

    private async Task<string> RawLineAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var buffer = _pending.GetBuffer();
            var length = (int)_pending.Length;
            var lf = Array.IndexOf(buffer, (byte)'\n', 0, length);
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(buffer, 0, lf).TrimEnd('\r');
                Consume(lf + 1);
                return line;
            }

            await FillAsync(cts.Token);
        }
    }

    private async Task<byte[]> ReadExactAsync(int size)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (_pending.Length < size)
        {
            await FillAsync(cts.Token);
        }

        var result = _pending.GetBuffer().AsSpan(0, size).ToArray();
        Consume(size);
        return result;
    }

    private async Task FillAsync(CancellationToken ct)
    {
        var chunk = new byte[16384];
        var n = await _stream.ReadAsync(chunk, ct);
        if (n == 0)
        {
            throw new EndOfStreamException("server closed the connection; pending: " + Encoding.UTF8.GetString(_pending.ToArray()));
        }

        _pending.Write(chunk, 0, n);
    }

    private void Consume(int count)
    {
        var rest = _pending.ToArray().AsSpan(count).ToArray();
        _pending.SetLength(0);
        _pending.Write(rest);
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
                if (await _stream.ReadAsync(buffer, cts.Token) == 0)
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
