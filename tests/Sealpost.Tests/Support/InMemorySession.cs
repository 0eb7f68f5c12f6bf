using System.IO.Pipelines;
using System.Net;
using Sealpost.Connections;
using Sealpost.Imap;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;

namespace Sealpost.Tests.Support;

/// <summary>
/// A protocol session of a running server run over an in-memory duplex pipe instead of a socket: the
/// same session code, context, services and stores a listener gives it, without the network. Transcript
/// tables use it so each case is one test that costs milliseconds; the listener and real clients have
/// their own smaller smoke set. Disposing the client's end hangs up, as closing a socket would.
/// </summary>
public sealed class InMemorySession : Stream
{
    private readonly Pipe _up = new();   // client -> session
    private readonly Pipe _down = new(); // session -> client
    private readonly Stream _read;
    private readonly Stream _write;
    private readonly CancellationTokenSource _hangUp = new();
    private Task _session = Task.CompletedTask;

    private InMemorySession()
    {
        _read = _down.Reader.AsStream(leaveOpen: true);
        _write = _up.Writer.AsStream(leaveOpen: true);
    }

    /// <summary>The session's own end of the pipe pair.</summary>
    private IDuplexPipe SessionEnd => new Transport(_up.Reader, _down.Writer);

    private sealed record Transport(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>An SMTP session as <paramref name="kind"/>'s listener would start it for a client at <paramref name="client"/>.</summary>
    public static SmtpRaw Smtp(SealpostServer server, SmtpListenerKind kind = SmtpListenerKind.Inbound, string client = "127.0.0.1")
    {
        var connection = new InMemorySession();
        var session = new SmtpSession(server.SmtpContext, kind, connection.SessionEnd, new IPEndPoint(IPAddress.Parse(client), 40000), alreadyTls: false);
        connection.Run(session.RunAsync);
        return SmtpRaw.Over(connection);
    }

    /// <summary>An IMAP session as the STARTTLS listener would start it for a client at <paramref name="client"/>.</summary>
    public static ImapRaw Imap(SealpostServer server, string client = "127.0.0.1")
    {
        var connection = new InMemorySession();
        var end = connection.SessionEnd;
        var session = new ImapSession(server.ImapContext, ImapListenerKind.StartTls, new DuplexPipeStream(end.Input, end.Output), new IPEndPoint(IPAddress.Parse(client), 40000));
        connection.Run(session.RunAsync);
        return ImapRaw.Over(connection);
    }

    private void Run(Func<CancellationToken, Task> serve) => _session = Task.Run(async () =>
    {
        try
        {
            await serve(_hangUp.Token);
        }
        finally
        {
            // The session is over: the client reads the end of the stream, as after a socket's close.
            await _down.Writer.CompleteAsync();
            await _up.Reader.CompleteAsync();
        }
    });

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => _read.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _read.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _read.ReadAsync(buffer, offset, count, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => _write.Write(buffer, offset, count);
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _write.WriteAsync(buffer, cancellationToken);
        await _write.FlushAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override void Flush() => _write.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _write.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        await _up.Writer.CompleteAsync(); // the client hangs up
        _hangUp.Cancel();
        await _session.WaitAsync(TimeSpan.FromSeconds(10));
        await _down.Reader.CompleteAsync();
        _hangUp.Dispose();
        await base.DisposeAsync();
    }
}
