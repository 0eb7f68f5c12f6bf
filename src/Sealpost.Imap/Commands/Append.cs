using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), APPENDLIMIT (RFC 7889), literal8 (RFC 3516)
// and the UTF8 data item (RFC 6855 §4). Each message is sealed to the account's own key like a delivery.
public sealed partial class ImapSession
{
    private async Task<After> AppendAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        var name = ReadMailbox(p);
        var messages = new List<(MessageFlags Flags, List<string> Keywords, DateTimeOffset Date, ReadOnlyMemory<byte> Content)>();
        while (p.TrySpace())
        {
            var flags = MessageFlags.None;
            var keywords = new List<string>();
            if (p.PeekIs('('))
            {
                foreach (var flag in p.ReadFlagList())
                {
                    if (flag.StartsWith('\\'))
                    {
                        if (!flag.Equals("\\Recent", StringComparison.OrdinalIgnoreCase))
                        {
                            flags |= Flags.Parse(flag) ?? throw new ImapParseException("Unknown system flag " + flag);
                        }
                    }
                    else
                    {
                        keywords.Add(flag);
                    }
                }

                p.Space();
            }

            var date = DateTimeOffset.UtcNow;
            if (p.PeekIs('"'))
            {
                date = p.ReadDateTime();
                p.Space();
            }

            ReadOnlyMemory<byte> content;
            if (p.TryKeyword("UTF8"))
            {
                p.Space();
                p.Expect('(');
                if (!p.PeekIs('~'))
                {
                    throw new ImapParseException("UTF8 takes a literal8");
                }

                content = p.ReadLiteral();
                p.Expect(')');
            }
            else if (p.PeekLiteral)
            {
                content = p.ReadLiteral();
            }
            else
            {
                throw new ImapParseException("APPEND needs the message as a literal");
            }

            messages.Add((flags, keywords, date, content));
        }

        p.End();
        if (messages.Count == 0)
        {
            throw new ImapParseException("APPEND needs a message");
        }

        var mailbox = await RequireMailboxAsync(name, ct, tryCreate: true);
        if (messages.Any(m => m.Content.Length == 0))
        {
            throw No("An empty message cannot be appended", "CANNOT");
        }

        if (_account!.HasQuota)
        {
            var usage = await _context.Mail.GetUsageAsync(AccountId, ct);
            if (usage.Bytes + messages.Sum(m => (long)m.Content.Length) > _account.QuotaBytes)
            {
                throw No("Mailbox is over quota", "OVERQUOTA");
            }
        }

        // RFC 3502 §6: all or none. Every message is checked above before the first is stored, and if
        // storing one fails, the ones already stored are expunged again before the NO.
        var uids = new List<uint>();
        try
        {
            foreach (var (flags, keywords, date, content) in messages)
            {
                var keywordIds = await _keywords!.IdsAsync(keywords, ct);
                var stored = await _context.Delivery.DeliverAsync(content, [new DeliveryTarget(AccountId, mailbox.Id, flags, keywordIds)], date, ct);
                uids.Add(stored[0].Uid);
            }
        }
        catch (Exception) when (uids.Count > 0)
        {
            await _context.Mail.ExpungeAsync(mailbox.Id, uids, CancellationToken.None);
            throw;
        }

        if (_selected?.MailboxId == mailbox.Id)
        {
            await ReportChangesAsync(allowExpunge: true, force: true, ct);
        }

        Ok(tag, "APPEND completed", $"APPENDUID {mailbox.UidValidity} {SequenceSet.Format(uids)}");
        return After.Next;
    }
}
