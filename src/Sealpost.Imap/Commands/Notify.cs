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

    private async Task<After> NotifyAsync(string tag, NotifyArguments arguments, CancellationToken ct)
    {
        if (arguments.None)
        {
            _notify = null;
            Ok(tag, "NOTIFY completed");
            return After.Next;
        }

        if (arguments.UnsupportedEvent is { } unsupported)
        {
            throw No("Unsupported event " + unsupported, ResponseCode.BadEvent(SupportedEvents));
        }

        var sendStatus = arguments.SendStatus;
        var groups = arguments.Groups.Select(g => new NotifyGroup(g.Scope, g.Names.Select(n => MailboxName(n)).ToList(), g.Events, g.NewMessageItems)).ToList();
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
                    Send(new ListResponse(["\\NonExistent"], oldPath));
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
                Send(new ListResponse([], path, [("OLDNAME", ImapValue.List(ImapValue.Mailbox(oldPath)))]));
            }
            else if (kinds.HasFlag(ChangeKinds.MailboxCreated) && group.Events.HasFlag(NotifyEvents.MailboxName))
            {
                Send(new ListResponse([], path));
            }

            if (kinds.HasFlag(ChangeKinds.SubscriptionChanged) && group.Events.HasFlag(NotifyEvents.SubscriptionChange))
            {
                Send(new ListResponse(mailbox.Subscribed ? ["\\Subscribed"] : [], path));
            }

            var messageKinds = ChangeKinds.Appended | ChangeKinds.Expunged | (group.Events.HasFlag(NotifyEvents.FlagChange) ? ChangeKinds.FlagsChanged : ChangeKinds.None);
            if ((kinds & messageKinds) != ChangeKinds.None && group.Events.HasFlag(NotifyEvents.MessageNew))
            {
                Send(await StatusLineAsync(path, mailbox, NotifyStatusItems(group), ct));
            }
        }
    }
}
