using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// STORE and UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE and MODIFIED (RFC 7162 §3.1.3).
// \Recent cannot be stored; keywords are created on first use. The grammar: StoreArguments.
public sealed partial class ImapSession
{
    private async Task<After> StoreAsync(string tag, StoreArguments arguments, bool uid, CancellationToken ct)
    {
        var (set, unchangedSince, operation, silent, system, keywords) = arguments;
        if (unchangedSince is not null)
        {
            EnableCondStore(); // a CONDSTORE-enabling command (RFC 7162 §3.1)
        }

        var view = _selected!;
        if (view.ReadOnly)
        {
            throw No("Mailbox is read-only", ResponseCode.ReadOnly);
        }

        await ReportChangesAsync(allowExpunge: uid, force: false, ct);
        var uids = ResolveSet(set, uid);
        if (uids.Count == 0)
        {
            Ok(tag, "STORE completed");
            return After.Next;
        }

        var keywordIds = await SelKeywords.IdsAsync(keywords, ct);
        AnnounceNewKeywords();
        var result = await SelMail.ChangeFlagsAsync(view.MailboxId, uids, new FlagChange(operation, system, keywordIds, unchangedSince), ct);
        if (result.Updated.Count == 0 || !view.AbsorbOwnChange(result.HighestModSeq))
        {
            foreach (var update in result.Updated)
            {
                view.SelfReported[update.Uid] = update.ModSeq;
            }
        }

        if (!silent)
        {
            // The flags this change left (not a second read): a change another session makes after it
            // reaches this session as its own untagged FETCH.
            var refused = result.FailedUnchangedSince.ToHashSet();
            foreach (var state in result.Current())
            {
                var sequence = view.SequenceOf(state.Uid);
                if (sequence != 0 && !refused.Contains(state.Uid))
                {
                    Send(FlagsFetch(sequence, state.Uid, await FlagsTextAsync(state.Uid, state.Flags, state.KeywordIds, ct), state.ModSeq, withUid: uid, withModSeq: _condStore));
                }
            }
        }

        if (result.FailedUnchangedSince.Count > 0)
        {
            var failed = uid ? result.FailedUnchangedSince.Order() : result.FailedUnchangedSince.Select(view.SequenceOf).Where(s => s != 0).Order();
            Ok(tag, "Conditional STORE failed for some messages", ResponseCode.Modified(SequenceSet.Format(failed)));
            return After.Next;
        }

        Ok(tag, "STORE completed");
        return After.Next;
    }
}
