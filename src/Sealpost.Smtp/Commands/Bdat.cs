using System.Globalization;

namespace Sealpost.Smtp;

/// <summary>BDAT (RFC 3030): the message in counted chunks.</summary>
public sealed partial class SmtpSession
{
    private Outcome Bdat(string argument)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || (parts.Length == 2 && !parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase)))
        {
            Error(SmtpReply.SyntaxError("Syntax: BDAT size [LAST]"));
            return Outcome.Close; // RFC 3030 §4.2: after a bad BDAT the chunk boundary is lost; close
        }

        var last = parts.Length == 2;
        var ready = _mail is not null && RecipientCount > 0;
        return Outcome.Then(async ct =>
        {
            // RFC 3030 §2: the chunk is read whatever happens, so the session stays in step.
            _chunks ??= new MessageBuffer(Limits.MaxMessageBytes, _context.MessageMemory, ClientAddress, Spill);
            var remaining = size;
            while (remaining > 0)
            {
                var result = await ReadAsync(Smtp.DataTimeoutSeconds, ct);
                var take = result.Buffer.Slice(0, Math.Min(remaining, result.Buffer.Length));
                foreach (var segment in take)
                {
                    _chunks.Write(segment.Span); // past the limits it only notes the fact
                }

                remaining -= take.Length;
                Input.AdvanceTo(take.End);
                if (result.IsCompleted && remaining > 0)
                {
                    return false;
                }
            }

            if (!ready)
            {
                Error(_mail is null ? SmtpReply.BadSequence("Need MAIL first") : SmtpReply.NoValidRecipients);
                _chunks.Dispose();
                _chunks = null;
                return true;
            }

            if (_chunks.TooBig || _chunks.OverBudget)
            {
                if (_chunks.OverBudget && !_chunks.TooBig)
                {
                    SmtpLog.MemoryBudgetExhausted(_context.Logger, _context.MessageMemory?.Capacity ?? 0);
                }

                Send(_chunks.TooBig ? SmtpReply.MessageTooBig : SmtpReply.InsufficientStorage);
                ResetTransaction();
                return true;
            }

            if (!last)
            {
                Send(SmtpReply.Ok($"{size} octets received"));
                return true;
            }

            await DeliverWithinMemoryAsync(_chunks.Length, _chunks.ToArray, ct);
            ResetTransaction();
            return true;
        });
    }
}
