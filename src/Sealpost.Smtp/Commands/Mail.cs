using System.Globalization;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;

namespace Sealpost.Smtp;

/// <summary>MAIL FROM (RFC 5321 §4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461) and REQUIRETLS (RFC 8689).</summary>
public sealed partial class SmtpSession
{
    private async ValueTask<Outcome> MailAsync(SmtpCommand command, CancellationToken ct)
    {
        if (_account is { } owner && !await StillStandsAsync(owner, ct))
        {
            Send(SmtpReply.ServiceClosing("This session's credentials changed or the account was suspended; authenticate again"));
            return Outcome.Close;
        }

        await AnsweringDomainErrorsAsync(() => MailAsync(command.Argument, ct));
        return Outcome.Next;
    }

    private async Task<bool> StillStandsAsync(Account owner, CancellationToken ct)
    {
        try
        {
            return await _context.Authentication.SessionStandsAsync(owner, ct);
        }
        catch (SealpostException)
        {
            return true;
        }
    }

    private async Task MailAsync(string argument, CancellationToken ct)
    {
        if (_helo is null)
        {
            Error(SmtpReply.BadSequence("Send EHLO or HELO first"));
            return;
        }

        if (_mail is not null)
        {
            Error(SmtpReply.BadSequence("Nested MAIL command"));
            return;
        }

        if (IsSubmission && _account is null)
        {
            Error(Tls || AuthAllowed ? SmtpReply.AuthRequired : SmtpReply.EncryptionRequired);
            return;
        }

        if (!SmtpGrammar.TryParsePath(argument, "FROM:", out var path, out var error))
        {
            Error(SmtpReply.SyntaxError(error));
            return;
        }

        if (path.Address.Length > 0)
        {
            if (!MailAddress.TryParse(path.Address, out var sender, out var why))
            {
                Error(SmtpReply.InvalidAddress("Bad sender address: " + why));
                return;
            }

            if (!path.Address.All(char.IsAscii) && !path.Parameters.ContainsKey("SMTPUTF8"))
            {
                Error(SmtpReply.Utf8NotRequested);
                return;
            }

            if (_account is { } account && !(_sendable = await _context.Agent.SendableAddressesAsync(_actor!, account, ct)).Contains(sender.Key))
            {
                SmtpLog.SenderRefused(_context.Logger, account.Id, _context.Redactor.Address(sender));
                Error(SmtpReply.SenderNotOwned(path.Address));
                return;
            }
        }
        else if (IsSubmission)
        {
            Error(SmtpReply.SenderNotOwned(""));
            return;
        }

        if (path.Parameters.TryGetValue("SIZE", out var size) && size is not null)
        {
            if (!long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var declared))
            {
                Error(SmtpReply.SyntaxError("SIZE needs a number"));
                return;
            }

            if (declared > Limits.MaxMessageBytes)
            {
                Error(SmtpReply.MessageTooBig);
                return;
            }
        }

        if (path.Parameters.TryGetValue("BODY", out var body) && body is not null && body.ToUpperInvariant() is not ("7BIT" or "8BITMIME" or "BINARYMIME"))
        {
            Error(SmtpReply.SyntaxError("BODY must be 7BIT or 8BITMIME"));
            return;
        }

        if (path.Parameters.ContainsKey("REQUIRETLS") && !Tls)
        {
            Error(SmtpReply.RequireTlsWithoutTls);
            return;
        }

        // RFC 1870 §6.2: a declared size that the shared message memory cannot take now is deferred at
        // once (452 4.3.1). Nothing is set aside for it: memory is taken as the data arrives, so a client
        // that announces a large SIZE and then sends nothing holds none.
        if (_context.MessageMemory is { } memory && path.Parameters.TryGetValue("SIZE", out var sizeText)
            && long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var announced)
            && (announced > memory.Capacity - memory.Used || announced > memory.PerHolder - memory.HeldBy(ClientAddress)))
        {
            SmtpLog.MemoryBudgetExhausted(_context.Logger, memory.Capacity);
            Send(SmtpReply.InsufficientStorage);
            return;
        }

        _mail = path; // DSN (RET, ENVID) and REQUIRETLS are kept with the envelope for the outbound queue
        Send(SmtpReply.SenderOk);
    }
}
