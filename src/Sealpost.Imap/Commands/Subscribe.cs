using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// SUBSCRIBE / UNSUBSCRIBE (RFC 9051 §6.3.7-8). A name may be subscribed whether or not a mailbox has it,
// and a deleted mailbox's subscription stays: LIST (SUBSCRIBED) shows such names as \NonExistent
// (RFC 5258 §3.5) until a mailbox of that name is made again.
public sealed partial class ImapSession
{
    private async Task<After> SubscribeAsync(string tag, MailboxArgument argument, bool subscribe, CancellationToken ct)
    {
        var name = MailboxName(argument);
        await _mail!.SubscribeAsync(name, subscribe, ct);
        Ok(tag, subscribe ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
        return After.Next;
    }
}
