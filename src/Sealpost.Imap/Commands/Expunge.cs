using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1: only the named \Deleted messages).
public sealed partial class ImapSession
{
    private async Task<After> ExpungeAsync(string tag, ImapParser p, bool uid, CancellationToken ct)
    {
        SequenceSet? set = null;
        if (uid)
        {
            p.Space();
            set = p.ReadSequenceSet();
        }

        p.End();
        var view = _selected!;
        if (view.ReadOnly)
        {
            throw No("Mailbox is read-only", "READ-ONLY");
        }

        var deleted = (await _mail!.ListMessagesAsync(view.MailboxId, UidRange.All, ct))
            .Where(m => m.Flags.HasFlag(MessageFlags.Deleted) && view.SequenceOf(m.Uid) != 0 && (set is null || set.Contains(m.Uid, view.MaxUid)))
            .Select(m => m.Uid).ToList();
        await ReportChangesAsync(allowExpunge: true, force: false, ct);
        if (deleted.Count > 0)
        {
            var result = await _mail!.ExpungeAsync(view.MailboxId, deleted, ct);
            AnnounceOwnExpunges(result.ExpungedUids);
        }

        Ok(tag, "EXPUNGE completed");
        return After.Next;
    }
}
