using System.Globalization;
using Sealpost.Domain.Sasl;

namespace Sealpost.Smtp;

/// <summary>EHLO and HELO (RFC 5321 §4.1.1.1): the client names itself; EHLO lists the extensions.</summary>
public sealed partial class SmtpSession
{
    private Outcome Ehlo(SmtpCommand command)
    {
        if (string.IsNullOrWhiteSpace(command.Argument))
        {
            Error(SmtpReply.SyntaxError("Syntax: EHLO hostname"));
            return Outcome.Next;
        }

        _helo = command.Argument.Trim();
        _esmtp = command.Verb == SmtpVerb.Ehlo;
        ResetTransaction();
        Send(_esmtp ? EhloReply() : SmtpReply.Helo(_context.Options.Hostname));
        return Outcome.Next;
    }

    private SmtpReply EhloReply()
    {
        var lines = new List<string>
        {
            $"{_context.Options.Hostname} greets {(_helo!.Length > 64 ? _helo[..64] : _helo)}",
            "PIPELINING",
            $"SIZE {Limits.MaxMessageBytes.ToString(CultureInfo.InvariantCulture)}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "DSN",
        };
        if (!Tls && _kind != SmtpListenerKind.SubmissionImplicitTls)
        {
            lines.Add("STARTTLS");
        }
        else
        {
            lines.Add("REQUIRETLS");
        }

        if (AuthAllowed)
        {
            lines.Add("AUTH " + string.Join(' ', SaslExchange.Mechanisms));
        }

        lines.Add("HELP");
        return SmtpReply.Ehlo(lines);
    }

    /// <summary>
    /// A suspension, deletion, reset or password change ends submission sessions opened before it: checked
    /// at each transaction's MAIL (one point read). Store trouble counts as standing; MAIL answers it itself.
}
