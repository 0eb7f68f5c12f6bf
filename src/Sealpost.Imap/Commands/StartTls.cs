using System.Net.Security;
using Sealpost.Connections;

namespace Sealpost.Imap;

// STARTTLS (RFC 9051 §6.2.1): anything the client pipelined after the command is discarded, never read
// as if it came over TLS (the CVE-2011-0411 class of bugs); capabilities are re-announced only on request.
public sealed partial class ImapSession
{
    private async Task<After> StartTlsAsync(string tag, CancellationToken ct)
    {
        if (_tls)
        {
            Send($"{tag} BAD TLS is already active");
            return After.Next;
        }

        if (_input.TryRead(out var pending))
        {
            var injected = !pending.Buffer.IsEmpty;
            _input.AdvanceTo(pending.Buffer.Start);
            if (injected)
            {
                Send($"{tag} BAD Commands pipelined after STARTTLS are refused");
                return After.Stop;
            }
        }

        Ok(tag, "Begin TLS negotiation now");
        await FlushAsync(ct);
        // Nothing is buffered (checked above), so TLS goes straight over the socket's stream.
        var ssl = new SslStream(_readStream, leaveInnerStreamOpen: true);
        _layers.Add(ssl);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct);
        handshake.CancelAfter(TimeSpan.FromSeconds(30));
        await ssl.AuthenticateAsServerAsync((_, hello, _, _) => ValueTask.FromResult(_context.TlsOptions(hello.ServerName)), null, handshake.Token);
        TlsIdleBuffers.Enable(ssl);
        Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake("imap", ssl);
        UseStreams(ssl, ssl);
        _tls = true;
        return After.Next;
    }
}
