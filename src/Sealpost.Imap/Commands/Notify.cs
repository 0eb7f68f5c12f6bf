using Sealpost.Core.Mail;
using Sealpost.Domain;
using Sealpost.Core.Storage;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// NOTIFY (RFC 5465) for the selected mailbox and the personal namespace: once set, changes reach the
// client as they happen, without NOOP or IDLE. The selected mailbox gets EXISTS/EXPUNGE/FETCH (and
// FETCH with the requested attributes for new mail); others get STATUS; mailbox events get LIST.
public sealed partial class ImapSession
{
    [Flags]
    private enum NotifyEvents { None = 0, MessageNew = 1, MessageExpunge = 2, FlagChange = 4, MailboxName = 8, SubscriptionChange = 16 }

    private enum NotifyScope { Selected, SelectedDelayed, Inboxes, Personal, Subscribed, Subtree, Mailboxes }

    private sealed record NotifyGroup(NotifyScope Scope, IReadOnlyList<string> Names, NotifyEvents Events, List<FetchItem>? NewMessageItems);

    private sealed class NotifySpec(List<NotifyGroup> groups)
    {
        public List<NotifyGroup> Groups { get; } = groups;
        public NotifyGroup? Selected => Groups.FirstOrDefault(g => g.Scope is NotifyScope.Selected or NotifyScope.SelectedDelayed);
        public Dictionary<long, ChangeKinds> Pending { get; } = [];
        public Dictionary<long, string> Paths { get; set; } = [];
    }

    private NotifySpec? _notify;

    private const string SupportedEvents = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange";

    private async Task<After> NotifyAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        if (p.TryKeyword("NONE"))
        {
            p.End();
            _notify = null;
            Ok(tag, "NOTIFY completed");
            return After.Next;
        }

        if (!p.TryKeyword("SET"))
        {
            throw new ImapParseException("NOTIFY takes SET or NONE");
        }

        p.Space();
        var sendStatus = false;
        if (p.TryKeyword("STATUS"))
        {
            sendStatus = true;
            p.Space();
        }

        var groups = new List<NotifyGroup>();
        do
        {
            groups.Add(ReadNotifyGroup(p));
        }
        while (p.TrySpace());
        p.End();

        if (groups.Count(g => g.Scope is NotifyScope.Selected or NotifyScope.SelectedDelayed) > 1)
        {
            throw new ImapParseException("SELECTED may appear once");
        }

        var spec = new NotifySpec(groups);
        spec.Paths = (await _mail!.ListAsync(ct)).ToDictionary(m => m.Mailbox.Id, m => m.Path);
        _notify = spec;
        if (sendStatus)
        {
            // RFC 5465 §5.1: STATUS now for every mailbox the other filters name.
            foreach (var (path, mailbox) in await _mail!.ListAsync(ct))
            {
                if (mailbox.Id != _selected?.MailboxId && OtherGroupFor(mailbox, path) is { } group && group.Events.HasFlag(NotifyEvents.MessageNew))
                {
                    Send(await StatusLineAsync(path, mailbox, NotifyStatusItems(group), ct));
                }
            }
        }

        Ok(tag, "NOTIFY completed");
        return After.Next;
    }

    private NotifyGroup ReadNotifyGroup(ImapParser p)
    {
        p.Expect('(');
        var scopeWord = p.ReadAtom().ToUpperInvariant();
        var names = new List<string>();
        var scope = scopeWord switch
        {
            "SELECTED" => NotifyScope.Selected,
            "SELECTED-DELAYED" => NotifyScope.SelectedDelayed,
            "INBOXES" => NotifyScope.Inboxes,
            "PERSONAL" => NotifyScope.Personal,
            "SUBSCRIBED" => NotifyScope.Subscribed,
            "SUBTREE" => NotifyScope.Subtree,
            "MAILBOXES" => NotifyScope.Mailboxes,
            _ => throw new ImapParseException("Unknown NOTIFY filter " + scopeWord),
        };
        if (scope is NotifyScope.Subtree or NotifyScope.Mailboxes)
        {
            p.Space();
            if (p.TryTake('('))
            {
                do
                {
                    names.Add(ReadMailbox(p));
                }
                while (p.TrySpace());
                p.Expect(')');
            }
            else
            {
                names.Add(ReadMailbox(p));
            }
        }

        p.Space();
        var events = NotifyEvents.None;
        List<FetchItem>? items = null;
        if (!p.TryKeyword("NONE"))
        {
            p.Expect('(');
            do
            {
                var word = p.ReadAtom();
                switch (word.ToUpperInvariant())
                {
                    case "MESSAGENEW":
                        events |= NotifyEvents.MessageNew;
                        if (p.PeekSpaceThen('('))
                        {
                            // Optional fetch attributes, only meaningful for the selected mailbox.
                            p.Space();
                            var parsed = FetchAttributes.Parse(p);
                            if (scope is NotifyScope.Selected or NotifyScope.SelectedDelayed)
                            {
                                items = parsed;
                            }
                        }

                        break;
                    case "MESSAGEEXPUNGE": events |= NotifyEvents.MessageExpunge; break;
                    case "FLAGCHANGE": events |= NotifyEvents.FlagChange; break;
                    case "MAILBOXNAME": events |= NotifyEvents.MailboxName; break;
                    case "SUBSCRIPTIONCHANGE": events |= NotifyEvents.SubscriptionChange; break;
                    default:
                        throw No("Unsupported event " + word, ResponseCode.BadEvent(SupportedEvents));
                }
            }
            while (p.TrySpace());
            p.Expect(')');
        }

        p.Expect(')');
        // RFC 5465 §5: MessageNew and MessageExpunge go together, and FlagChange needs both.
        var messageEvents = events & (NotifyEvents.MessageNew | NotifyEvents.MessageExpunge);
        if ((messageEvents != NotifyEvents.None && messageEvents != (NotifyEvents.MessageNew | NotifyEvents.MessageExpunge))
            || (events.HasFlag(NotifyEvents.FlagChange) && messageEvents == NotifyEvents.None))
        {
            throw new ImapParseException("MessageNew and MessageExpunge must be given together, and FlagChange needs them");
        }

        if (scope is NotifyScope.Selected or NotifyScope.SelectedDelayed && (events & (NotifyEvents.MailboxName | NotifyEvents.SubscriptionChange)) != NotifyEvents.None)
        {
            throw new ImapParseException("Mailbox events do not apply to SELECTED");
        }

        return new NotifyGroup(scope, names, events, items);
    }

    private static List<string> NotifyStatusItems(NotifyGroup group) =>
        group.Events.HasFlag(NotifyEvents.FlagChange) ? ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"] : ["MESSAGES", "UIDNEXT", "UIDVALIDITY"];

    /// <summary>The first non-selected filter that names this mailbox (RFC 5465 §6: the first match wins).</summary>
    private NotifyGroup? OtherGroupFor(Mailbox mailbox, string path)
    {
        foreach (var group in _notify!.Groups)
        {
            var matches = group.Scope switch
            {
                NotifyScope.Personal => true,
                NotifyScope.Inboxes => mailbox.Role is MailboxRole.Inbox or MailboxRole.Junk,
                NotifyScope.Subscribed => mailbox.Subscribed,
                NotifyScope.Subtree => group.Names.Any(n => path == n || path.StartsWith(n + MailboxService.Separator, StringComparison.Ordinal)),
                NotifyScope.Mailboxes => group.Names.Contains(path),
                _ => false,
            };
            if (matches)
            {
                return group;
            }
        }

        return null;
    }

    /// <summary>Sends what NOTIFY asked for about changes the feed reported; called while the session waits for input.</summary>
    private async Task DeliverNotificationsAsync(CancellationToken ct)
    {
        var spec = _notify!;
        DrainFeed();
        if (_selected is { Dirty: true } && spec.Selected is { Events: not NotifyEvents.None } selectedGroup)
        {
            var before = _selected.MaxUid;
            await ReportChangesAsync(allowExpunge: true, force: false, ct);
            if (selectedGroup.NewMessageItems is { } items && _selected is { } view && view.MaxUid > before)
            {
                var fresh = view.Uids.Where(u => u > before).ToList();
                var withUid = items.Any(i => i.Kind == FetchKind.Uid) ? items : [new FetchItem(FetchKind.Uid), .. items];
                await SendFetchResponsesAsync(await RecordsAsync(view.MailboxId, fresh, ct), withUid, addFlags: false, ct);
            }
        }

        if (spec.Pending.Count == 0)
        {
            return;
        }

        var pending = spec.Pending.ToList();
        spec.Pending.Clear();
        var current = await _mail!.ListAsync(ct);
        var byId = current.ToDictionary(m => m.Mailbox.Id);
        foreach (var (mailboxId, kinds) in pending)
        {
            spec.Paths.TryGetValue(mailboxId, out var oldPath);
            if (!byId.TryGetValue(mailboxId, out var entry))
            {
                // Deleted: RFC 5465 §5.4 LIST with \NonExistent, under the name the client knew.
                if (oldPath is not null && spec.Groups.Any(g => g.Events.HasFlag(NotifyEvents.MailboxName)))
                {
                    Send($"* LIST (\\NonExistent) \"/\" {MailboxOut(oldPath)}");
                }

                spec.Paths.Remove(mailboxId);
                continue;
            }

            var (path, mailbox) = entry;
            spec.Paths[mailboxId] = path;
            var group = OtherGroupFor(mailbox, path);
            if (group is null)
            {
                continue;
            }

            if (kinds.HasFlag(ChangeKinds.MailboxRenamed) && group.Events.HasFlag(NotifyEvents.MailboxName) && oldPath is not null && oldPath != path)
            {
                Send($"* LIST () \"/\" {MailboxOut(path)} (\"OLDNAME\" ({MailboxOut(oldPath)}))");
            }
            else if (kinds.HasFlag(ChangeKinds.MailboxCreated) && group.Events.HasFlag(NotifyEvents.MailboxName))
            {
                Send($"* LIST () \"/\" {MailboxOut(path)}");
            }

            if (kinds.HasFlag(ChangeKinds.SubscriptionChanged) && group.Events.HasFlag(NotifyEvents.SubscriptionChange))
            {
                Send($"* LIST ({(mailbox.Subscribed ? "\\Subscribed" : "")}) \"/\" {MailboxOut(path)}");
            }

            var messageKinds = ChangeKinds.Appended | ChangeKinds.Expunged | (group.Events.HasFlag(NotifyEvents.FlagChange) ? ChangeKinds.FlagsChanged : ChangeKinds.None);
            if ((kinds & messageKinds) != ChangeKinds.None && group.Events.HasFlag(NotifyEvents.MessageNew))
            {
                Send(await StatusLineAsync(path, mailbox, NotifyStatusItems(group), ct));
            }
        }
    }
}
