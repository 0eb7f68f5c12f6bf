using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// SUBSCRIBE / UNSUBSCRIBE (RFC 9051 §6.3.7-8). Subscriptions live on the mailbox row, so only existing mailboxes can be subscribed.
public sealed partial class ImapSession
{
    private async Task<After> SubscribeAsync(string tag, ImapParser p, bool subscribe, CancellationToken ct)
    {
        p.Space();
        var name = ReadMailbox(p);
        p.End();
        var mailbox = await RequireMailboxAsync(name, ct);
        await _mail!.SetSubscribedAsync(mailbox.Id, subscribe, ct);
        Ok(tag, subscribe ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
        return After.Next;
    }
}
