using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// DELETE (RFC 9051 §6.3.5): INBOX cannot be deleted; a mailbox with children is refused (HASCHILDREN).
public sealed partial class ImapSession
{
    private async Task<After> DeleteAsync(string tag, MailboxArgument argument, CancellationToken ct)
    {
        var name = MailboxName(argument);
        var mailbox = await RequireMailboxAsync(name, ct);
        if (mailbox.Role == Core.Mail.MailboxRole.Inbox)
        {
            throw No("INBOX cannot be deleted", ResponseCode.Cannot);
        }

        if ((await _mail!.ListMailboxesAsync(ct)).Any(m => m.ParentId == mailbox.Id))
        {
            throw No("The mailbox has children; delete them first", ResponseCode.HasChildren);
        }

        if (_selected?.MailboxId == mailbox.Id)
        {
            _selected = null; // its messages are gone; the session returns to authenticated state
        }

        await _mail!.DeleteAsync(name, ct);
        Ok(tag, "DELETE completed");
        return After.Next;
    }
}
