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
/// their own smaller smoke set. Disposing it hangs up, as closing a socket would, and waits for the
/// session to end.
/// </summary>
public sealed class InMemorySession : IAsyncDisposable
{
    private readonly Pipe _up = new();   // client -> session
    private readonly Pipe _down = new(); // session -> client
    private readonly CancellationTokenSource _hangUp = new();
    private Task _session = Task.CompletedTask;

    /// <summary>The client's end.</summary>
    private Stream Client => new DuplexPipeStream(_down.Reader, _up.Writer);

    /// <summary>The session's end, as the listener would hand it over (no TLS yet, the gate not counted).</summary>
    private Connection Transport(string client) =>
        new(new DuplexPipeStream(_up.Reader, _down.Writer), new IPEndPoint(IPAddress.Parse(client), 40000));

    /// <summary>An SMTP session as <paramref name="kind"/>'s listener would start it for a client at <paramref name="client"/>.</summary>
    public static SmtpRaw Smtp(SealpostServer server, SmtpListenerKind kind = SmtpListenerKind.Inbound, string client = "127.0.0.1")
    {
        var connection = new InMemorySession();
        connection.Run(async ct =>
        {
            await using var transport = connection.Transport(client);
            await new SmtpSession(server.SmtpContext, kind, transport).RunAsync(ct);
        });
        return SmtpRaw.Over(connection.Client, connection);
    }

    /// <summary>An IMAP session as the STARTTLS listener would start it for a client at <paramref name="client"/>.</summary>
    public static ImapRaw Imap(SealpostServer server, string client = "127.0.0.1")
    {
        var connection = new InMemorySession();
        connection.Run(async ct =>
        {
            await using var transport = connection.Transport(client);
            await new ImapSession(server.ImapContext, ImapListenerKind.StartTls, transport).RunAsync(ct);
        });
        return ImapRaw.Over(connection.Client, connection);
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

    public async ValueTask DisposeAsync()
    {
        await _up.Writer.CompleteAsync(); // the client hangs up
        _hangUp.Cancel();
        await _session.WaitAsync(TimeSpan.FromSeconds(10));
        await _down.Reader.CompleteAsync();
        _hangUp.Dispose();
    }
}
