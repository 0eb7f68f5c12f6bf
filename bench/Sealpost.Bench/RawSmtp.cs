using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sealpost.Bench;

/// <summary>A bare SMTP connection for load generators: write lines, read whole (multi-line) replies.</summary>
internal sealed class RawSmtp : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private RawSmtp(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, Encoding.ASCII);
    }

    /// <summary>Connects, reads the greeting and says EHLO.</summary>
    public static async Task<RawSmtp> OpenAsync(IPEndPoint endpoint)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(endpoint);
        var smtp = new RawSmtp(client);
        await smtp.ReplyAsync();
        await smtp.SendAsync("EHLO load.example\r\n");
        await smtp.ReplyAsync();
        return smtp;
    }

    /// <summary>The last line of the next reply ("250 ...").</summary>
    public async Task<string> ReplyAsync()
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync() ?? throw new EndOfStreamException();
            if (line.Length < 4 || line[3] == ' ')
            {
                return line;
            }
        }
    }

    public async Task SendAsync(string text) => await _stream.WriteAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    public void Dispose()
    {
        _reader.Dispose();
        _client.Dispose();
    }
}
