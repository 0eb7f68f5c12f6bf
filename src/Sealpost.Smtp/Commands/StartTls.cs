using System.Buffers;

namespace Sealpost.Smtp;

/// <summary>STARTTLS (RFC 3207).</summary>
public sealed partial class SmtpSession
{
    private Outcome StartTls(ReadOnlySequence<byte> rest)
    {
        if (Tls || _kind == SmtpListenerKind.SubmissionImplicitTls)
        {
            Error(SmtpReply.BadSequence("TLS is already active"));
            return Outcome.Next;
        }

        if (!rest.IsEmpty)
        {
            // RFC 3207 §4.2 / CVE-2011-0411: anything pipelined after STARTTLS would be read as if it came over TLS.
            Send(SmtpReply.CommandAfterStartTls);
            return Outcome.Close;
        }

        Send(SmtpReply.ReadyForTls);
        return Outcome.Then(async ct =>
        {
            await FlushAsync(ct);
            if (_connection.HasBufferedInput())
            {
                return false; // octets arrived between the reply and the handshake: the same injection
            }

            Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake(MetricProtocol, await _connection.StartTlsAsync(_context.TlsOptions, ct));
            _helo = null; // RFC 3207 §4.2: forget everything learned before TLS
            _esmtp = false;
            _account = null;
            _watch?.Dispose();
            _watch = null;
            _watchWait = null;
            ResetTransaction();
            return true;
        });
    }
}
