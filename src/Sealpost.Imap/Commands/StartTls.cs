namespace Sealpost.Imap;

// STARTTLS (RFC 9051 §6.2.1): anything the client pipelined after the command is discarded, never read
// as if it came over TLS (the CVE-2011-0411 class of bugs); capabilities are re-announced only on request.
public sealed partial class ImapSession
{
    private async Task<After> StartTlsAsync(string tag, CancellationToken ct)
    {
        if (_connection.Tls)
        {
            Send($"{tag} BAD TLS is already active");
            return After.Next;
        }

        if (_connection.HasBufferedInput())
        {
            Send($"{tag} BAD Commands pipelined after STARTTLS are refused");
            return After.Stop;
        }

        Ok(tag, "Begin TLS negotiation now");
        await FlushAsync(ct);
        Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake("imap", await _connection.StartTlsAsync(_context.TlsOptions, ct));
        return After.Next;
    }
}
