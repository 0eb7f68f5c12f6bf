namespace Sealpost.Smtp;

/// <summary>DATA (RFC 5321 §4.1.1.4): the message up to the lone dot, then its delivery.</summary>
public sealed partial class SmtpSession
{
    private Outcome Data(SmtpCommand command)
    {
        if (!string.IsNullOrEmpty(command.Argument))
        {
            Error(SmtpReply.SyntaxError("Syntax: DATA takes no argument"));
            return Outcome.Next;
        }

        if (_chunks is not null)
        {
            Error(SmtpReply.BadSequence("DATA cannot follow BDAT"));
            return Outcome.Next;
        }

        if (!CheckTransactionReady())
        {
            return Outcome.Next;
        }

        Send(SmtpReply.StartData);
        return Outcome.Then(ReceiveDataAsync);
    }

    private bool CheckTransactionReady()
    {
        if (_mail is null)
        {
            Error(SmtpReply.BadSequence("Need MAIL first"));
            return false;
        }

        if (RecipientCount == 0)
        {
            Error(SmtpReply.NoValidRecipients);
            return false;
        }

        return true;
    }

    private async Task<bool> ReceiveDataAsync(CancellationToken ct)
    {
        using var reader = new DataReader(Limits.MaxMessageBytes, Smtp.BareLineEndAction() == BareLineEndAction.Normalize, _context.MessageMemory, ClientAddress, Spill);
        while (!reader.Complete)
        {
            var result = await ReadAsync(Smtp.DataTimeoutSeconds, ct);
            var consumed = reader.Consume(result.Buffer);
            Input.AdvanceTo(consumed, result.Buffer.End);
            if (result.IsCompleted && !reader.Complete)
            {
                return false; // the peer hung up mid-message: nothing was stored
            }
        }

        if (reader.TooBig)
        {
            Send(SmtpReply.MessageTooBig);
        }
        else if (reader.OverBudget)
        {
            SmtpLog.MemoryBudgetExhausted(_context.Logger, _context.MessageMemory?.Capacity ?? 0);
            Send(SmtpReply.InsufficientStorage);
        }
        else if (reader.SawBareLineEnd && Smtp.BareLineEndAction() == BareLineEndAction.Reject)
        {
            Send(SmtpReply.BareLineFeed);
        }
        else
        {
            await DeliverWithinMemoryAsync(reader.Length, reader.ToArray, ct);
        }

        ResetTransaction();
        return true;
    }
}
