using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// SELECT / EXAMINE (RFC 9051 §6.3.2-3; RFC 3501 adds RECENT and UNSEEN for rev1 clients).
// Reads the UIDs from the primary key and the first unseen UID, never rows or content: a 100,000-message
// mailbox opens from one index scan.
public sealed partial class ImapSession
{
    private async Task<After> SelectAsync(string tag, SelectArguments arguments, bool readOnly, CancellationToken ct)
    {
        if (arguments.Qresync is not null && !_qresync)
        {
            throw new ImapParseException("QRESYNC needs ENABLE QRESYNC first");
        }

        var name = MailboxName(arguments.Mailbox);
        var qresync = arguments.Qresync;
        if (arguments.CondStore)
        {
            _condStore = true;
        }

        if (_selected is not null)
        {
            _selected = null;
            Untagged("OK", ResponseCode.Closed, "Previous mailbox closed");
        }

        // Another account's mailbox under an access grant opens read-only, whichever command asked.
        GrantedAccess? granted = null;
        Mailbox mailbox;
        if (IsOtherUsers(name))
        {
            (granted, mailbox) = await RequireGrantedAsync(name, ct);
            readOnly = true;
        }
        else
        {
            mailbox = await RequireMailboxAsync(name, ct);
        }

        var access = granted?.Access ?? _mail!;
        var (uidArray, firstUnseenUid) = await access.ListUidsAsync(mailbox.Id, ct);
        var uids = new List<uint>(uidArray);
        var firstUnseen = firstUnseenUid == 0 ? 0u : (uint)(uids.BinarySearch(firstUnseenUid) + 1);
        await (granted?.Keywords ?? _keywords!).LoadAsync(ct); // FLAGS lists the account's keywords, new ones from other sessions included

        // The mailbox row was read before the messages: anything newer is picked up as a change later.
        var view = new SelectedMailbox(mailbox.Id, readOnly, mailbox.UidValidity, uids, mailbox.HighestModSeq) { Granted = granted };
        if (!_rev2)
        {
            // RFC 3501 §2.3.2: recent in the first session that sees it. EXAMINE shows what nobody has
            // claimed yet but claims nothing (§6.3.2: it must not make messages lose \Recent).
            var from = !readOnly && uids.Count > 0 && uids[^1] >= mailbox.FirstRecentUid
                ? await access.ClaimRecentAsync(mailbox.Id, uids[^1], ct)
                : mailbox.FirstRecentUid;
            view.Recent = uids.Where(u => u >= from).ToHashSet();
        }

        SendFlags(view);
        Send(new ExistsResponse((uint)uids.Count));
        if (!_rev2)
        {
            Send(new RecentResponse((uint)view.Recent!.Count));
            if (firstUnseen != 0)
            {
                Untagged("OK", ResponseCode.Unseen(firstUnseen), "First unseen message");
            }
        }

        Untagged("OK", ResponseCode.UidValidity(mailbox.UidValidity), "UIDs valid");
        Untagged("OK", ResponseCode.UidNext(mailbox.UidNext), "Predicted next UID");
        Untagged("OK", ResponseCode.HighestModSeq(Math.Max(1, mailbox.HighestModSeq)), "Highest");
        Untagged("OK", ResponseCode.MailboxId(MailboxId(mailbox)), "Ok"); // RFC 8474 §4.2
        if (_rev2 && !string.Equals(MailboxOut(name), MailboxOut(Sealpost.Domain.MailboxService.Normalise(name)), StringComparison.Ordinal))
        {
            // RFC 9051 §6.3.2: tell the client the mailbox's canonical name when it used another spelling.
            Send(new ListResponse([], Sealpost.Domain.MailboxService.Normalise(name)));
        }

        _selected = view;
        if (qresync is { } q && q.UidValidity == mailbox.UidValidity)
        {
            await ResyncAsync(view, q, ct);
        }

        Ok(tag, readOnly ? "EXAMINE completed" : "SELECT completed", readOnly ? ResponseCode.ReadOnly : ResponseCode.ReadWrite);
        return After.Next;
    }


    /// <summary>
    /// RFC 7162 §3.2.5: what the client missed since its MODSEQ, in one round trip: VANISHED (EARLIER)
    /// for what was expunged, then FETCH for what changed. When the change log was pruned past the
    /// client's MODSEQ, every UID it knows (or every UID below UIDNEXT) that no longer exists is reported.
    /// </summary>
    private async Task ResyncAsync(SelectedMailbox view, QresyncParameters q, CancellationToken ct)
    {
        var changes = await SelMail.GetChangesAsync(view.MailboxId, q.ModSeq, ct);
        IEnumerable<uint> gone = changes.IsComplete ? changes.Expunged : UidsMissingUpTo(view.MaxUid, view);
        if (q.KnownUids is { } known)
        {
            gone = gone.Where(u => known.Contains(u, view.MaxUid));
        }

        var vanished = gone.Where(u => view.SequenceOf(u) == 0).Distinct().Order().ToList();
        if (vanished.Count > 0)
        {
            Send(new VanishedResponse(vanished, Earlier: true));
        }

        foreach (var message in changes.Changed)
        {
            var sequence = view.SequenceOf(message.Uid);
            if (sequence != 0)
            {
                Send(FlagsFetch(sequence, message.Uid, await FlagsTextAsync(message, ct), message.ModSeq, withUid: true, withModSeq: true));
            }
        }

        view.KnownModSeq = Math.Max(view.KnownModSeq, changes.HighestModSeq);
    }
}
