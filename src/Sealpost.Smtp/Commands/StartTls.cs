using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using Sealpost.Connections;

namespace Sealpost.Smtp;

/// <summary>STARTTLS (RFC 3207).</summary>
public sealed partial class SmtpSession
{
    private Outcome StartTls(ReadOnlySequence<byte> rest)
    {
        if (_tls || _kind == SmtpListenerKind.SubmissionImplicitTls)
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
            var ssl = new SslStream(new DuplexPipeStream(_input, _output), leaveInnerStreamOpen: false);
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct);
            handshake.CancelAfter(TimeSpan.FromSeconds(30));
            // The ClientHello's SNI picks the certificate, as on the implicit-TLS port.
            await ssl.AuthenticateAsServerAsync(
                (_, hello, _, _) => ValueTask.FromResult(_context.TlsOptions(hello.ServerName)), null, handshake.Token);
            TlsIdleBuffers.Enable(ssl);
            Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake(MetricProtocol, ssl);
            _input = PipeReader.Create(ssl);
            _output = PipeWriter.Create(ssl);
            _tls = true;
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
