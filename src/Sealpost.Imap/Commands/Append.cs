using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), APPENDLIMIT (RFC 7889), literal8 (RFC 3516)
// and the UTF8 data item (RFC 6855 §4). Each message is sealed to the account's own key like a delivery.
public sealed partial class ImapSession
{
    /// <summary>How long an APPEND waits for room in the shared processing memory before NO [LIMIT].</summary>
    private static readonly TimeSpan ProcessingWait = TimeSpan.FromSeconds(60);

    private async Task<After> AppendAsync(string tag, AppendArguments arguments, CancellationToken ct)
    {
        var name = MailboxName(arguments.Mailbox);
        var messages = arguments.Messages;
        var mailbox = await RequireMailboxAsync(name, ct, tryCreate: true);
        if (messages.Any(m => m.Content.Length == 0))
        {
            throw No("An empty message cannot be appended", ResponseCode.Cannot);
        }

        // RFC 3502 §6: all or none; the mail service checks the quota for all of them first.
        var toStore = new List<(MessageFlags, IReadOnlyList<int>, DateTimeOffset, ReadOnlyMemory<byte>, bool)>();
        foreach (var (flags, keywords, date, content, binary) in messages)
        {
            toStore.Add((flags, await _keywords!.IdsAsync(keywords, ct), date, content, binary));
        }

        // Sealing takes memory beside the literal's: wait for room in the processing memory shared with SMTP.
        using var admitted = _context.MessageProcessing is { } gate
            ? await gate.EnterAsync(messages.Sum(m => (long)m.Content.Length), ProcessingWait, ct)
              ?? throw No("Too many messages are being stored at once; try again", ResponseCode.Limit)
            : null;
        IReadOnlyList<uint> uids;
        try
        {
            uids = await _mail!.AppendAsync(mailbox.Id, toStore, ct);
        }
        catch (Sealpost.Core.SealpostException ex) when (ex.Kind == Sealpost.Core.ErrorKind.LimitExceeded)
        {
            throw No("Mailbox is over quota", ResponseCode.OverQuota);
        }

        if (_selected?.MailboxId == mailbox.Id)
        {
            await ReportChangesAsync(allowExpunge: true, force: true, ct);
        }

        Ok(tag, "APPEND completed", ResponseCode.AppendUid(mailbox.UidValidity, SequenceSet.Format(uids)));
        return After.Next;
    }
}
