using System.Globalization;
using Sealpost.Core.Addressing;
using Sealpost.Domain;

namespace Sealpost.Smtp;

/// <summary>RCPT TO (RFC 5321 §4.1.1.3): local recipients are checked at once, others only for an authenticated sender.</summary>
public sealed partial class SmtpSession
{
    private async ValueTask<Outcome> RcptAsync(SmtpCommand command, CancellationToken ct)
    {
        await AnsweringDomainErrorsAsync(() => RcptAsync(command.Argument, ct));
        return Outcome.Next;
    }

    private async Task RcptAsync(string argument, CancellationToken ct)
    {
        if (_mail is null)
        {
            Error(SmtpReply.BadSequence("Need MAIL before RCPT"));
            return;
        }

        if (!SmtpGrammar.TryParsePath(argument, "TO:", out var path, out var error))
        {
            Error(SmtpReply.SyntaxError(error));
            return;
        }

        if (!MailAddress.TryParse(path.Address, out var recipient, out var why))
        {
            Error(SmtpReply.InvalidAddress("Bad recipient address: " + why));
            return;
        }

        if (!path.Address.All(char.IsAscii) && !_mail.Parameters.ContainsKey("SMTPUTF8"))
        {
            Error(SmtpReply.Utf8NotRequested);
            return;
        }

        if (RecipientCount >= Limits.MaxRecipients)
        {
            Send(SmtpReply.TooManyRecipients);
            return;
        }

        var declared = _mail.Parameters.TryGetValue("SIZE", out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var d) ? d : 0;
        var check = await _context.Agent.CheckRecipientAsync(SessionActor, recipient, declared, ct);
        switch (check.Status)
        {
            case RecipientStatus.Local:
                _recipients.Add((recipient, check.Accounts));
                _forwards.AddRange(check.Forwards.Select(f => (recipient, f)));
                Send(SmtpReply.RecipientOk);
                break;
            case RecipientStatus.Unknown:
                Error(SmtpReply.UnknownUser);
                break;
            case RecipientStatus.OverQuota:
                Send(SmtpReply.MailboxFull);
                break;
            case RecipientStatus.Remote when _account is null:
                SmtpLog.RelayRefused(_context.Logger, Remote?.Address.ToString() ?? "?", _context.Redactor.Address(recipient));
                Error(SmtpReply.RelayDenied);
                break;
            default:
                // An authenticated sender may send anywhere: the message goes to the outbound queue.
                _remoteRecipients.Add((recipient, path.Parameters));
                Send(SmtpReply.RecipientOk);
                break;
        }
    }
}
