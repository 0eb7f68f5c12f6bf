using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// RENAME (RFC 9051 §6.3.6): children move with their parent; renaming INBOX moves its messages to a
// new mailbox and leaves INBOX empty; UIDVALIDITY is kept.
public sealed partial class ImapSession
{
    private async Task<After> RenameAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        var from = ReadMailbox(p);
        p.Space();
        var to = ReadMailbox(p);
        p.End();
        var source = await RequireMailboxAsync(from, ct);
        if (to.Equals("INBOX", StringComparison.OrdinalIgnoreCase))
        {
            throw No("INBOX exists", "ALREADYEXISTS");
        }

        if (source.Role == MailboxRole.Inbox)
        {
            var target = await _mail!.CreateAsync(to, MailboxRole.None, ct);
            var uids = (await _mail!.ListMessagesAsync(source.Id, UidRange.All, ct)).Select(m => m.Uid).ToList();
            if (uids.Count > 0)
            {
                await _mail!.MoveMessagesAsync(source.Id, uids, target.Id, ct);
            }
        }
        else
        {
            await _mail!.RenameAsync(from, to, ct);
        }

        Ok(tag, "RENAME completed");
        return After.Next;
    }
}
