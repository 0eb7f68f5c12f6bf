using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// STATUS (RFC 9051 §6.3.11) with SIZE (RFC 8438), DELETED, APPENDLIMIT (RFC 7889) and HIGHESTMODSEQ (RFC 7162).
public sealed partial class ImapSession
{
    private static readonly HashSet<string> StatusItemNames =
        ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID"];

    private async Task<After> StatusAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        var name = ReadMailbox(p);
        p.Space();
        var items = ReadStatusItems(p);
        p.End();
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

    private List<string> ReadStatusItems(ImapParser p)
    {
        p.Expect('(');
        var items = new List<string>();
        while (!p.TryTake(')'))
        {
            if (items.Count > 0)
            {
                p.Space();
            }

            var item = p.ReadAtom().ToUpperInvariant();
            if (!StatusItemNames.Contains(item))
            {
                throw new ImapParseException("Unknown STATUS item " + item);
            }

            items.Add(item);
        }

        if (items.Contains("HIGHESTMODSEQ"))
        {
            EnableCondStore(); // RFC 7162 §3.1
        }

        if (items.Count == 0)
        {
            throw new ImapParseException("STATUS needs at least one item");
        }

        return items;
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
