using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// STORE and UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE and MODIFIED (RFC 7162 §3.1.3).
// \Recent cannot be stored; keywords are created on first use.
public sealed partial class ImapSession
{
    private async Task<After> StoreAsync(string tag, ImapParser p, bool uid, CancellationToken ct)
    {
        p.Space();
        var set = p.ReadSequenceSet();
        p.Space();
        long? unchangedSince = null;
        if (p.TryTake('('))
        {
            if (!p.TryKeyword("UNCHANGEDSINCE"))
            {
                throw new ImapParseException("Unknown STORE modifier");
            }

            p.Space();
            unchangedSince = (long)p.ReadNumber64();
            p.Expect(')');
            p.Space();
        }

        var operation = p.TryTake('+') ? FlagOperation.Add : p.TryTake('-') ? FlagOperation.Remove : FlagOperation.Replace;
        var item = p.ReadAtom().ToUpperInvariant();
        if (item is not ("FLAGS" or "FLAGS.SILENT"))
        {
            throw new ImapParseException("STORE takes FLAGS or FLAGS.SILENT");
        }

        var silent = item == "FLAGS.SILENT";
        p.Space();
        List<string> names;
        if (p.PeekIs('('))
        {
            names = p.ReadFlagList();
        }
        else
        {
            names = [p.ReadFlag()];
            while (p.TrySpace())
            {
                names.Add(p.ReadFlag());
            }
        }

        p.End();
        if (unchangedSince is not null)
        {
            EnableCondStore(); // a CONDSTORE-enabling command (RFC 7162 §3.1), once it has parsed
        }

        var view = _selected!;
        if (view.ReadOnly)
        {
            throw No("Mailbox is read-only", "READ-ONLY");
        }

        var system = MessageFlags.None;
        var keywords = new List<string>();
        foreach (var name in names)
        {
            if (name.StartsWith('\\'))
            {
                if (name.Equals("\\Recent", StringComparison.OrdinalIgnoreCase))
                {
                    continue; // RFC 3501 §2.3.2: \Recent cannot be set by a client
                }

                system |= Flags.Parse(name) ?? throw new ImapParseException("Unknown system flag " + name);
            }
            else
            {
                keywords.Add(name);
            }
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
        foreach (var update in result.Updated)
        {
            view.SelfReported[update.Uid] = update.ModSeq;
        }

        if (!silent)
        {
            var refused = result.FailedUnchangedSince.ToHashSet();
            foreach (var record in await RecordsAsync(view.MailboxId, uids, ct))
            {
                var sequence = view.SequenceOf(record.Uid);
                if (sequence != 0 && !refused.Contains(record.Uid))
                {
                    Send($"* {sequence} FETCH ({(uid ? $"UID {record.Uid} " : "")}FLAGS {await FlagsTextAsync(record, ct)}{ModSeqItem(record.ModSeq)})");
                }
            }
        }

        if (result.FailedUnchangedSince.Count > 0)
        {
            var failed = uid ? result.FailedUnchangedSince.Order() : result.FailedUnchangedSince.Select(view.SequenceOf).Where(s => s != 0).Order();
            Ok(tag, "Conditional STORE failed for some messages", "MODIFIED " + SequenceSet.Format(failed));
            return After.Next;
        }

        Ok(tag, "STORE completed");
        return After.Next;
    }
}
