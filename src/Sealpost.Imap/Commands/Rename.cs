using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// RENAME (RFC 9051 §6.3.6): children move with their parent; renaming INBOX moves its messages to a
// new mailbox and leaves INBOX empty; UIDVALIDITY is kept.
public sealed partial class ImapSession
{
    private async Task<After> RenameAsync(string tag, RenameArguments arguments, CancellationToken ct)
    {
        var from = MailboxName(arguments.From);
        var to = MailboxName(arguments.To, newName: true);
        await RequireMailboxAsync(from, ct);
        RefuseOtherUsers(to);
        await _mail!.RenameAsync(from, to, ct);
        Ok(tag, "RENAME completed");
        return After.Next;
    }
}
