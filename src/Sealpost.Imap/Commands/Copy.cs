using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// COPY, MOVE (RFC 6851) and their UID forms, with COPYUID (RFC 4315 §3). MOVE is one store transaction:
// the copies and the expunge commit together.
public sealed partial class ImapSession
{
    private async Task<After> CopyAsync(string tag, CopyArguments arguments, bool uid, bool move, CancellationToken ct)
    {
        var set = arguments.Set;
        var name = MailboxName(arguments.Mailbox);
        var view = _selected!;
        if (view.Granted is not null)
        {
            throw No("Another person's mailbox is read-only: its messages are not copied or moved out", ResponseCode.NoPerm);
        }

        if (move && view.ReadOnly)
        {
            throw No("Mailbox is read-only", ResponseCode.ReadOnly);
        }

        await ReportChangesAsync(allowExpunge: uid, force: false, ct);
        var uids = ResolveSet(set, uid);
        var target = await RequireMailboxAsync(name, ct, tryCreate: true);
        if (uids.Count == 0)
        {
            Ok(tag, move ? "MOVE completed" : "COPY completed");
            return After.Next;
        }

        var result = move
            ? await _mail!.MoveMessagesAsync(view.MailboxId, uids, target.Id, ct)
            : await _mail!.CopyMessagesAsync(view.MailboxId, uids, target.Id, ct);
        ResponseCode? code = result.DestinationUids.Count == 0
            ? null
            : ResponseCode.CopyUid(result.DestinationUidValidity, SequenceSet.Format(result.SourceUids), SequenceSet.Format(result.DestinationUids));
        if (move)
        {
            // RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
            if (code is not null)
            {
                Untagged("OK", code, "Moved");
            }

            AnnounceOwnExpunges(result.SourceUids);
            if (target.Id == view.MailboxId)
            {
                await ReportChangesAsync(allowExpunge: true, force: true, ct);
            }

            Ok(tag, "MOVE completed");
            return After.Next;
        }

        if (target.Id == view.MailboxId)
        {
            await ReportChangesAsync(allowExpunge: uid, force: true, ct);
        }

        Ok(tag, "COPY completed", code);
        return After.Next;
    }
}
