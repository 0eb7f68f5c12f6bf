using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// SELECT / EXAMINE (RFC 9051 §6.3.2-3; RFC 3501 adds RECENT and UNSEEN for rev1 clients).
// Reads message rows only (UIDs and flags), never content: a 100,000-message mailbox opens from one query.
public sealed partial class ImapSession
{
    private async Task<After> SelectAsync(string tag, ImapParser p, bool readOnly, CancellationToken ct)
    {
        p.Space();
        var name = ReadMailbox(p);
        p.End();
        if (_selected is not null)
        {
            _selected = null;
            Send("* OK [CLOSED] Previous mailbox closed");
        }

        var mailbox = await RequireMailboxAsync(name, ct);
        var messages = await _context.Mail.ListMessagesAsync(mailbox.Id, UidRange.All, ct);
        var uids = new List<uint>(messages.Count);
        uint firstUnseen = 0;
        var keywordIds = new HashSet<int>();
        for (var i = 0; i < messages.Count; i++)
        {
            uids.Add(messages[i].Uid);
            if (firstUnseen == 0 && !messages[i].Flags.HasFlag(MessageFlags.Seen))
            {
                firstUnseen = (uint)i + 1;
            }

            foreach (var id in messages[i].KeywordIds)
            {
                keywordIds.Add(id);
            }
        }

        if (!_keywords!.Has(keywordIds.ToList()))
        {
            await _keywords.LoadAsync(ct);
        }

        // The mailbox row was read before the messages: anything newer is picked up as a change later.
        var view = new SelectedMailbox(mailbox.Id, readOnly, mailbox.UidValidity, uids, mailbox.HighestModSeq);
        var keywords = string.Concat(_keywords.All.Select(k => " " + k));
        Send($"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{keywords})");
        Send(readOnly
            ? "* OK [PERMANENTFLAGS ()] Read-only mailbox"
            : $"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{keywords} \\*)] Flags permitted");
        Send($"* {uids.Count} EXISTS");
        if (!_rev2)
        {
            Send("* 0 RECENT");
            if (firstUnseen != 0)
            {
                Send($"* OK [UNSEEN {firstUnseen}] First unseen message");
            }
        }

        Send($"* OK [UIDVALIDITY {mailbox.UidValidity}] UIDs valid");
        Send($"* OK [UIDNEXT {mailbox.UidNext}] Predicted next UID");
        Send($"* OK [HIGHESTMODSEQ {Math.Max(1, mailbox.HighestModSeq)}] Highest");
        if (_rev2 && !string.Equals(MailboxOut(name), MailboxOut(Core.Services.MailboxService.Normalise(name)), StringComparison.Ordinal))
        {
            // RFC 9051 §6.3.2: tell the client the mailbox's canonical name when it used another spelling.
            Send($"* LIST () \"/\" {MailboxOut(Core.Services.MailboxService.Normalise(name))}");
        }

        _selected = view;
        Ok(tag, readOnly ? "EXAMINE completed" : "SELECT completed", readOnly ? "READ-ONLY" : "READ-WRITE");
        return After.Next;
    }
}
