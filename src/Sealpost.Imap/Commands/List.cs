using System.Text;
using System.Text.RegularExpressions;
using Sealpost.Core.Mail;
using Sealpost.Domain;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258: SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE
// selection; SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS return options), LIST-STATUS (RFC 5819), and
// LSUB for IMAP4rev1 clients (RFC 3501 §6.3.9).
public sealed partial class ImapSession
{
    private async Task<After> ListAsync(string tag, ListArguments arguments, CancellationToken ct)
    {
        var (selectSubscribed, selectSpecialUse, recursiveMatch, _, _, returnSubscribed, returnSpecialUse, statusItems) = arguments;
        var reference = DecodeReference(arguments.Reference);
        var patterns = arguments.Patterns.Select(DecodePattern).ToList();
        if (statusItems is not null)
        {
            EnableCondStoreFor(statusItems);
        }

        if (patterns.Count == 1 && patterns[0].Length == 0)
        {
            // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter.
            Send(new ListResponse(["\\Noselect"], ""));
            Ok(tag, "LIST completed");
            return After.Next;
        }

        var all = await _mail!.ListAsync(ct);
        var matchers = patterns.Select(pattern => PatternRegex(reference, pattern)).ToList();
        // Subscribed names no mailbox has (a deleted mailbox's subscription stays, RFC 9051 §6.3.7).
        var detached = selectSubscribed || returnSubscribed ? await _mail.ListDetachedSubscriptionsAsync(ct) : [];
        var detachedSet = detached.ToHashSet(StringComparer.Ordinal);
        bool IsSubscribed(string path, Mailbox mailbox) => mailbox.Subscribed || detachedSet.Contains(path);
        foreach (var (path, mailbox) in all)
        {
            var matches = matchers.Any(m => m.IsMatch(path));
            if (!matches)
            {
                continue;
            }

            var hasChildren = all.Any(o => o.Mailbox.ParentId == mailbox.Id);
            var attributes = new List<string> { hasChildren ? "\\HasChildren" : "\\HasNoChildren" };
            var childInfo = false;
            if (selectSpecialUse && SpecialUse(mailbox.Role) is null)
            {
                continue;
            }

            if (selectSubscribed)
            {
                // RFC 5258 §3.5: with RECURSIVEMATCH a mailbox gets CHILDINFO when a descendant meets the
                // selection but no pattern lists that descendant itself (then it is reported on its own).
                childInfo = recursiveMatch && all.Where(o => IsSubscribed(o.Path, o.Mailbox)).Select(o => o.Path).Concat(detached).Any(other =>
                    other.StartsWith(path + MailboxService.Separator, StringComparison.Ordinal)
                    && !matchers.Any(m => m.IsMatch(other)));
                if (!IsSubscribed(path, mailbox) && !childInfo)
                {
                    continue;
                }
            }

            if (returnSubscribed && IsSubscribed(path, mailbox))
            {
                attributes.Add("\\Subscribed");
            }

            if (returnSpecialUse && SpecialUse(mailbox.Role) is { } use)
            {
                attributes.Add(use);
            }

            Send(new ListResponse(attributes, path, childInfo ? [("CHILDINFO", ImapValue.List(ImapValue.String("SUBSCRIBED")))] : null));
            if (statusItems is not null)
            {
                Send(await StatusLineAsync(path, mailbox, statusItems, ct));
            }
        }

        if (selectSubscribed && !selectSpecialUse)
        {
            // RFC 5258 §3.5: a subscribed name without a mailbox is listed with \NonExistent.
            var existing = all.Select(m => m.Path).ToHashSet(StringComparer.Ordinal);
            foreach (var path in detached.Where(d => !existing.Contains(d) && matchers.Any(m => m.IsMatch(d))))
            {
                Send(new ListResponse(["\\NonExistent", "\\Subscribed"], path));
            }
        }

        // Other people's mailboxes this user reads under an access grant (never subscribed, no special use).
        if (!selectSubscribed && !selectSpecialUse)
        {
            foreach (var (path, attributes, grant, mailbox) in await GrantedListAsync(ct))
            {
                if (matchers.Any(m => m.IsMatch(path)))
                {
                    Send(new ListResponse(attributes, path));
                    if (statusItems is not null && mailbox is not null)
                    {
                        Send(await StatusLineAsync(path, mailbox, statusItems, ct, grant.Access));
                    }
                }
            }
        }

        Ok(tag, "LIST completed");
        return After.Next;
    }

    private async Task<After> LsubAsync(string tag, LsubArguments arguments, CancellationToken ct)
    {
        var reference = DecodeReference(arguments.Reference);
        var pattern = DecodePattern(arguments.Pattern);
        var matcher = PatternRegex(reference, pattern);
        var all = await _mail!.ListAsync(ct);
        var existing = all.Select(m => m.Path).ToHashSet(StringComparer.Ordinal);
        var subscribed = all.Where(m => m.Mailbox.Subscribed).Select(m => m.Path)
            .Concat(await _mail.ListDetachedSubscriptionsAsync(ct)).ToHashSet(StringComparer.Ordinal);
        // RFC 3501 §6.3.9: when "%" stops above a subscribed mailbox, its ancestor at that level is
        // listed with \Noselect unless it is subscribed itself.
        var lines = new SortedDictionary<string, bool>(StringComparer.Ordinal); // path -> listed as \Noselect
        foreach (var path in subscribed)
        {
            if (matcher.IsMatch(path))
            {
                lines[path] = !existing.Contains(path); // a subscribed name without a mailbox cannot be selected
                continue; // listed itself: its ancestors need no stand-in
            }

            for (var cut = path.IndexOf(MailboxService.Separator); cut > 0; cut = path.IndexOf(MailboxService.Separator, cut + 1))
            {
                var ancestor = path[..cut];
                if (!subscribed.Contains(ancestor) && matcher.IsMatch(ancestor))
                {
                    lines.TryAdd(ancestor, true);
                    break; // the nearest level the pattern stops at
                }
            }
        }

        foreach (var (path, noselect) in lines)
        {
            Send(new ListResponse(noselect ? ["\\Noselect"] : [], path, Lsub: true));
        }

        Ok(tag, "LSUB completed");
        return After.Next;
    }

    private string DecodeReference(byte[] bytes) => DecodePattern(bytes);

    private string DecodePattern(byte[] bytes)
    {
        if (_utf8)
        {
            return Encoding.UTF8.GetString(bytes);
        }

        // Liberal: a pattern that is not valid modified UTF-7 is matched as the text it is (it names
        // nothing that exists unless a name holds those very characters), never answered BAD.
        var text = Encoding.Latin1.GetString(bytes);
        return ModifiedUtf7.TryDecode(text, out var name) ? name : text;
    }

    /// <summary>'*' matches anything, '%' anything but the separator (RFC 9051 §6.3.9); INBOX matches case-insensitively.</summary>
    private static Regex PatternRegex(string reference, string pattern)
    {
        var full = reference + pattern;
        if (full.Length >= 5 && full[..5].Equals("INBOX", StringComparison.OrdinalIgnoreCase) && (full.Length == 5 || full[5] == MailboxService.Separator))
        {
            full = "INBOX" + full[5..];
        }

        var sb = new StringBuilder("^");
        foreach (var c in full)
        {
            sb.Append(c switch
            {
                '*' => ".*",
                '%' => "[^/]*",
                _ => Regex.Escape(c.ToString()),
            });
        }

        return new Regex(sb.Append('$').ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}
