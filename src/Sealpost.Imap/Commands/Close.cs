namespace Sealpost.Imap;

// CLOSE (RFC 9051 §6.4.1: expunge \Deleted silently, unless read-only) and UNSELECT (RFC 3691: no expunge).
public sealed partial class ImapSession
{
    private async Task<After> CloseAsync(string tag, bool expunge, CancellationToken ct)
    {
        var view = _selected!;
        _selected = null;
        if (expunge && !view.ReadOnly)
        {
            await SelMail.ExpungeDeletedAsync(view.MailboxId, null, ct);
        }

        Ok(tag, expunge ? "CLOSE completed" : "UNSELECT completed");
        return After.Next;
    }
}
