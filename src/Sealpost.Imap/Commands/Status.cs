using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// STATUS (RFC 9051 §6.3.11) with SIZE (RFC 8438), DELETED, APPENDLIMIT (RFC 7889) and HIGHESTMODSEQ (RFC 7162).
public sealed partial class ImapSession
{
    private async Task<After> StatusAsync(string tag, StatusArguments arguments, CancellationToken ct)
    {
        var items = arguments.Items;
        EnableCondStoreFor(items);
        var name = MailboxName(arguments.Mailbox);
        if (IsOtherUsers(name))
        {
            var (grant, granted) = await RequireGrantedAsync(name, ct);
            Send(await StatusLineAsync(name, granted, items, ct, grant.Access));
        }
        else
        {
            Send(await StatusLineAsync(name, await RequireMailboxAsync(name, ct), items, ct));
        }

        Ok(tag, "STATUS completed");
        return After.Next;
    }

    /// <summary>Asking for HIGHESTMODSEQ is a CONDSTORE-enabling command (RFC 7162 §3.1), once the whole command has parsed.</summary>
    private void EnableCondStoreFor(IReadOnlyList<string> items)
    {
        if (items.Contains("HIGHESTMODSEQ"))
        {
            EnableCondStore();
        }
    }

    private async Task<StatusResponse> StatusLineAsync(string name, Mailbox mailbox, IReadOnlyList<string> items, CancellationToken ct, Sealpost.Domain.MailAccess? access = null)
    {
        access ??= _mail!;
        var fresh = await access.GetMailboxAsync(mailbox.Id, ct) ?? mailbox;
        IReadOnlyList<MessageRecord>? messages = null;
        if (items.Contains("UNSEEN") || items.Contains("DELETED") || items.Contains("RECENT"))
        {
            messages = await access.ListMessagesAsync(mailbox.Id, UidRange.All, ct);
        }

        var values = items.Select(item => (item, item switch
        {
            "MESSAGES" => ImapValue.Number((ulong)fresh.MessageCount),
            "RECENT" => ImapValue.Number((ulong)messages!.Count(m => m.Uid >= fresh.FirstRecentUid)), // nobody has seen them yet (RFC 3501 §6.3.10)
            "UIDNEXT" => ImapValue.Number(fresh.UidNext),
            "UIDVALIDITY" => ImapValue.Number(fresh.UidValidity),
            "UNSEEN" => ImapValue.Number((ulong)messages!.Count(m => !m.Flags.HasFlag(MessageFlags.Seen))),
            "DELETED" => ImapValue.Number((ulong)messages!.Count(m => m.Flags.HasFlag(MessageFlags.Deleted))),
            "SIZE" => ImapValue.Number((ulong)fresh.TotalSize),
            "HIGHESTMODSEQ" => ImapValue.Number((ulong)Math.Max(1, fresh.HighestModSeq)),
            "MAILBOXID" => ImapValue.List(ImapValue.Atom(MailboxId(fresh))),
            _ => ImapValue.Number((ulong)_context.Imap.AppendLimitBytes),
        })).ToList();
        return new StatusResponse(name, values);
    }
}
