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

    private async Task<string> StatusLineAsync(string name, Mailbox mailbox, IReadOnlyList<string> items, CancellationToken ct, Sealpost.Domain.MailAccess? access = null)
    {
        access ??= _mail!;
        var fresh = await access.GetMailboxAsync(mailbox.Id, ct) ?? mailbox;
        IReadOnlyList<MessageRecord>? messages = null;
        if (items.Contains("UNSEEN") || items.Contains("DELETED") || items.Contains("RECENT"))
        {
            messages = await access.ListMessagesAsync(mailbox.Id, UidRange.All, ct);
        }

        var parts = items.Select(item => item + " " + item switch
        {
            "MESSAGES" => fresh.MessageCount.ToString(),
            "RECENT" => messages!.Count(m => m.Uid >= fresh.FirstRecentUid).ToString(), // nobody has seen them yet (RFC 3501 §6.3.10)
            "UIDNEXT" => fresh.UidNext.ToString(),
            "UIDVALIDITY" => fresh.UidValidity.ToString(),
            "UNSEEN" => messages!.Count(m => !m.Flags.HasFlag(MessageFlags.Seen)).ToString(),
            "DELETED" => messages!.Count(m => m.Flags.HasFlag(MessageFlags.Deleted)).ToString(),
            "SIZE" => fresh.TotalSize.ToString(),
            "HIGHESTMODSEQ" => Math.Max(1, fresh.HighestModSeq).ToString(),
            "MAILBOXID" => $"({MailboxId(fresh)})",
            _ => _context.Imap.AppendLimitBytes.ToString(),
        });
        return $"* STATUS {MailboxOut(name)} ({string.Join(' ', parts)})";
    }
}
