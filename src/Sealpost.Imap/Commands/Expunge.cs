using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1: only the named \Deleted messages).
public sealed partial class ImapSession
{
    private async Task<After> ExpungeAsync(string tag, ExpungeArguments arguments, bool uid, CancellationToken ct)
    {
        var set = arguments.Uids;
        var view = _selected!;
        if (view.ReadOnly)
        {
            throw No("Mailbox is read-only", ResponseCode.ReadOnly);
        }

        await ReportChangesAsync(allowExpunge: true, force: false, ct);
        // Only messages this session has seen (a message delivered since has no sequence number yet).
        var result = await SelMail.ExpungeDeletedAsync(view.MailboxId, u => view.SequenceOf(u) != 0 && (set is null || set.Contains(u, view.MaxUid)), ct);
        if (result is not null)
        {
            AnnounceOwnExpunges(result.ExpungedUids);
            if (result.ExpungedUids.Count > 0)
            {
                view.AbsorbOwnChange(result.ModSeq);
            }
        }

        Ok(tag, "EXPUNGE completed");
        return After.Next;
    }
}
