using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// Live updates (RFC 9051 §7, §5.2-5.5): what other sessions and deliveries changed in the selected
// mailbox reaches this client as EXISTS, EXPUNGE and FETCH (FLAGS), read from the store's change log
// since the MODSEQ the client was last told about. The change feed only says "look again".
public sealed partial class ImapSession
{
    private Task<bool>? _feedWait;

    /// <summary>
    /// Completes when the change feed has something. One wait is kept across calls so that commands
    /// that never see a notification do not pile up abandoned waiters on the channel.
    /// </summary>
    private Task<bool> FeedWaitAsync(CancellationToken ct)
    {
        if (_feedWait is null || _feedWait.IsCompleted)
        {
            _feedWait = _changes!.Reader.WaitToReadAsync(ct).AsTask();
        }

        return _feedWait;
    }

    /// <summary>Drains the feed; true if the selected mailbox changed.</summary>
    private bool DrainFeed()
    {
        if (_changes is null)
        {
            return false;
        }

        while (_changes.Reader.TryRead(out var change))
        {
            if ((change.Kinds & Sealpost.Core.Storage.ChangeKinds.AccountChanged) != 0)
            {
                _accountChanged = true; // the session checks whether it still stands before going on
                continue;
            }

            if (_selected is not null && change.MailboxId == _selected.MailboxId)
            {
                _selected.Dirty |= change.HighestModSeq > _selected.KnownModSeq;
            }
            else if (_notify is not null)
            {
                // Kept for NOTIFY's STATUS and LIST events about other mailboxes.
                _notify.Pending[change.MailboxId] = _notify.Pending.GetValueOrDefault(change.MailboxId) | change.Kinds;
            }
        }

        return _selected?.Dirty == true;
    }

    /// <summary>
    /// Tells the client what changed. <paramref name="allowExpunge"/> is false during FETCH, STORE and
    /// SEARCH (RFC 9051 §7.5.1): expunges wait in the view until a command that may announce them.
    /// </summary>
    private async Task ReportChangesAsync(bool allowExpunge, bool force, CancellationToken ct)
    {
        var view = _selected;
        if (view is null)
        {
            return;
        }

        if (DrainFeed() || force)
        {
            view.Dirty = false;
            var changes = await SelMail.GetChangesAsync(view.MailboxId, view.KnownModSeq, ct);
            var maxUid = view.MaxUid;
            foreach (var uid in changes.Expunged)
            {
                if (view.SequenceOf(uid) != 0)
                {
                    view.PendingExpunges.Add(uid);
                }
            }

            var added = changes.Changed.Where(m => m.Uid > maxUid).Select(m => m.Uid).Order().ToList();
            var flagChanges = changes.Changed.Where(m => m.Uid <= maxUid).ToList();
            if (allowExpunge)
            {
                AnnounceExpunges(view);
            }

            if (added.Count > 0)
            {
                view.Uids.AddRange(added);
                Send(new ExistsResponse((uint)view.Count));
                if (!_rev2)
                {
                    var from = view.ReadOnly
                        ? (await SelMail.GetMailboxAsync(view.MailboxId, ct))?.FirstRecentUid ?? added[0]
                        : await SelMail.ClaimRecentAsync(view.MailboxId, added[^1], ct);
                    (view.Recent ??= []).UnionWith(added.Where(u => u >= from));
                    Send(new RecentResponse((uint)view.Recent.Count));
                }
            }

            foreach (var message in flagChanges)
            {
                var sequence = view.SequenceOf(message.Uid);
                if (sequence == 0 || (view.SelfReported.TryGetValue(message.Uid, out var told) && told == message.ModSeq) || view.PendingExpunges.Contains(message.Uid))
                {
                    continue;
                }

                var names = await SelKeywords.NamesAsync(message.KeywordIds, ct);
                AnnounceNewKeywords();
                Send(FlagsFetch(sequence, message.Uid, Flags.Format(message.Flags, names, IsRecent(message.Uid)), message.ModSeq, withUid: true, withModSeq: _condStore));
            }

            view.SelfReported.Clear();
            view.KnownModSeq = Math.Max(view.KnownModSeq, changes.HighestModSeq);
        }
        else if (allowExpunge)
        {
            AnnounceExpunges(view);
        }
    }

    /// <summary>" MODSEQ (n)" once CONDSTORE is on: RFC 7162 §3.1.4 wants it in every FETCH that carries FLAGS.</summary>
    /// <summary>
    /// A FETCH of a message's flags (RFC 9051 §7.5.2), as STORE answers, a resync reports and news of
    /// another session's change arrives: UID when asked or unsolicited (RFC 7162 §3.2.4), MODSEQ once
    /// CONDSTORE is on (§3.1.4).
    /// </summary>
    private static FetchResponse FlagsFetch(uint sequence, uint uid, string flags, long modseq, bool withUid, bool withModSeq)
    {
        var items = new List<(string, ImapValue)>(3);
        if (withUid)
        {
            items.Add(("UID", ImapValue.Number(uid)));
        }

        items.Add(("FLAGS", ImapValue.Formatted(flags)));
        if (withModSeq)
        {
            items.Add(("MODSEQ", ImapValue.List(ImapValue.Number((ulong)modseq))));
        }

        return new FetchResponse(sequence, items);
    }

    private void AnnounceExpunges(SelectedMailbox view)
    {
        if (_qresync)
        {
            // RFC 7162 §3.2.10: with QRESYNC, VANISHED replaces EXPUNGE.
            var gone = view.PendingExpunges.Where(u => view.SequenceOf(u) != 0).ToList();
            if (gone.Count > 0)
            {
                Send(new VanishedResponse(gone, Earlier: false));
                foreach (var uid in gone)
                {
                    view.Uids.RemoveAt((int)view.SequenceOf(uid) - 1);
                    view.Recent?.Remove(uid);
                }
            }

            view.PendingExpunges.Clear();
            return;
        }

        foreach (var uid in view.PendingExpunges)
        {
            var sequence = view.SequenceOf(uid);
            if (sequence != 0)
            {
                Send(new ExpungeResponse(sequence));
                view.Uids.RemoveAt((int)sequence - 1);
                view.Recent?.Remove(uid);
            }
        }

        view.PendingExpunges.Clear();
    }

    private bool IsRecent(uint uid) => !_rev2 && _selected?.Recent?.Contains(uid) == true;

    /// <summary>Removes messages this session expunged itself and tells the client (RFC 9051 §7.5.1 EXPUNGE).</summary>
    private void AnnounceOwnExpunges(IEnumerable<uint> uids)
    {
        var view = _selected!;
        if (_qresync)
        {
            foreach (var uid in uids)
            {
                view.PendingExpunges.Add(uid);
            }

            AnnounceExpunges(view);
            return;
        }

        foreach (var uid in uids.Order())
        {
            view.PendingExpunges.Remove(uid);
            var sequence = view.SequenceOf(uid);
            if (sequence != 0)
            {
                Send(new ExpungeResponse(sequence));
                view.Uids.RemoveAt((int)sequence - 1);
                view.Recent?.Remove(uid);
            }
        }
    }
}
