using System.IO.Compression;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Text;

namespace Sealpost.Connections;

/// <summary>
/// One client connection as a protocol session sees it: the client's endpoint (the PROXY header's when a
/// load balancer sent one), the layers over the socket's stream (TLS, DEFLATE) and pipes over the top
/// layer. SMTP, IMAP and the logins to come share it, so STARTTLS, COMPRESS and the last word before a
/// close are written once. The socket's own stream belongs to the listener; the layers belong here.
/// </summary>
public sealed class Connection : IAsyncDisposable
{
    private readonly List<Stream> _layers = [];
    private Stream _read;
    private Stream _write;

    /// <param name="transport">The socket's stream (or TLS over it on an implicit-TLS port, which <paramref name="tls"/> says).</param>
    /// <param name="remote">The peer of the socket.</param>
    /// <param name="proxiedFrom">The client a PROXY header named, if one came.</param>
    public Connection(Stream transport, IPEndPoint? remote, IPEndPoint? proxiedFrom = null, bool tls = false)
    {
        Remote = ClientEndpoint.Normalise(proxiedFrom ?? remote);
        Proxied = proxiedFrom is not null;
        Tls = tls;
        _read = transport;
        _write = transport;
        Layer(transport, transport);
    }

    /// <summary>The client: the socket's peer, or the address a load balancer's PROXY header gave.</summary>
    public IPEndPoint? Remote { get; }

    /// <summary>The client's address as logs and limits key it ("unknown" when the transport has none).</summary>
    public string ClientAddress => Remote?.Address.ToString() ?? "unknown";

    /// <summary>True when a PROXY header named the client (the socket's peer is the load balancer).</summary>
    public bool Proxied { get; }

    /// <summary>True when the client connects from this host itself (never through a load balancer).</summary>
    public bool IsLoopback => !Proxied && Remote is not null && IPAddress.IsLoopback(Remote.Address);

    public bool Tls { get; private set; }

    public bool Compressed { get; private set; }

    public PipeReader Input { get; private set; }

    public PipeWriter Output { get; private set; }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(Input), nameof(Output))]
    private void Layer(Stream read, Stream write)
    {
        Input?.Complete();
        Output?.Complete();
        _read = read;
        _write = write;
        // Zero-byte reads: an idle connection holds no read buffer until data arrives (STACK.md).
        Input = PipeReader.Create(read, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        Output = PipeWriter.Create(write, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    /// <summary>
    /// True when octets the client sent are already waiting. STARTTLS and COMPRESS refuse those: read as if
    /// they came over the new layer, they would be an injection (RFC 3207 §4.2, CVE-2011-0411).
    /// </summary>
    public bool HasBufferedInput()
    {
        if (!Input.TryRead(out var pending))
        {
            return false;
        }

        Input.AdvanceTo(pending.Buffer.Start);
        return !pending.Buffer.IsEmpty;
    }

    /// <summary>
    /// Negotiates TLS over the connection (STARTTLS, after the protocol's go-ahead is flushed): the
    /// ClientHello's SNI picks the certificate; 30 s for the handshake. Returns the TLS stream (for metrics). Nothing may be buffered (see
    /// <see cref="HasBufferedInput"/>), so TLS goes straight over the stream below.
    /// </summary>
    public async Task<SslStream> StartTlsAsync(Func<string?, SslServerAuthenticationOptions> options, CancellationToken ct)
    {
        var ssl = new SslStream(_read, leaveInnerStreamOpen: true);
        _layers.Add(ssl);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct);
        handshake.CancelAfter(TimeSpan.FromSeconds(30));
        await ssl.AuthenticateAsServerAsync((_, hello, _, _) => ValueTask.FromResult(options(hello.ServerName)), null, handshake.Token);
        TlsIdleBuffers.Enable(ssl);
        Layer(ssl, ssl);
        Tls = true;
        return ssl;
    }

    /// <summary>Raw DEFLATE both ways from here on (IMAP COMPRESS, RFC 4978); each flush is a sync flush.</summary>
    public void StartCompression()
    {
        var inflate = new DeflateStream(_read, CompressionMode.Decompress, leaveOpen: true);
        var deflate = new DeflateStream(_write, CompressionLevel.Fastest, leaveOpen: true);
        _layers.Add(inflate);
        _layers.Add(deflate);
        Layer(inflate, deflate);
        Compressed = true;
    }

    /// <summary>
    /// A last line before the connection closes (a refusal, a timeout, BYE): sent if the client still
    /// reads within 5 s, never an error if it does not.
    /// </summary>
    public async Task LastWordAsync(string line)
    {
        try
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\r\n");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Output.WriteAsync(bytes, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>Completes the pipes and closes the layers this connection added, top first; the socket is the listener's.</summary>
    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync();
        await Output.CompleteAsync();
        foreach (var layer in Enumerable.Reverse(_layers))
        {
            try
            {
                await layer.DisposeAsync();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // A peer gone mid-close: nothing left to tell it.
            }
        }
    }
}
