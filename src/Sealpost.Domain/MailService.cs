using System.Collections.Concurrent;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;
using Sealpost.Mime;

namespace Sealpost.Domain;

/// <summary>
/// An owner's own mail. A protocol session (IMAP today, JMAP and webmail later) opens one
/// <see cref="MailAccess"/> after login; the permission matrix allows it only for the actor's own
/// account (no role reads another person's mail), and every call after that is checked to stay
/// inside that account.
/// </summary>
[DomainService]
public sealed class MailService(ISealpostStore store, MailboxService mailboxes, MessageReader reader, SealedDelivery delivery, AccessGuard guard, AccessGrantService grants)
{
    /// <summary>
    /// Another account's mailbox under an access grant of the actor's own (opened by
    /// <see cref="AccessGrantService.OpenForAsync"/>): read-only, the grant checked before every read,
    /// and every message or listing read recorded in the audit trail.
    /// </summary>
    [Requires(Operation.GrantedMailRead)]
    public async Task<MailAccess> OpenGrantedAsync(Actor actor, IAccountSession granteeKeys, OpenGrant grant, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.GrantedMailRead, Scope.OfAccount(actor.TenantId ?? -1, granteeKeys.AccountId));
        if (grant.Grant.GranteeAccountId != granteeKeys.AccountId)
        {
            throw new SealpostException(ErrorKind.Forbidden, "not permitted: that grant is another person's");
        }

        return new MailAccess(actor, grant.OwnerKeys, store, mailboxes, reader, delivery, guard) { Grant = grant.Grant, Grants = grants };
    }

    [Requires(Operation.MailRead)]
    public async Task<MailAccess> OpenAsync(Actor actor, IAccountSession keys, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.MailRead, Scope.OfAccount(actor.TenantId ?? -1, keys.AccountId));
        await mailboxes.EnsureSpecialMailboxesAsync(keys.AccountId, keys.Names, ct);
        return new MailAccess(actor, keys, store, mailboxes, reader, delivery, guard);
    }
}

/// <summary>
/// What a logged-in owner may do with their mailboxes and messages. Each call checks that the
/// mailbox it names belongs to the owner (the store's ids are global; a guessed id is refused), and
/// writes check <see cref="Operation.MailWrite"/>. Quotas, APPEND's all-or-nothing and the special
/// folders' rules are kept here, once, for every protocol.
/// </summary>
public sealed class MailAccess
{
    private readonly Actor _actor;
    private readonly IAccountSession _keys;
    private readonly ISealpostStore _store;
    private readonly MailboxService _mailboxes;
    private readonly MessageReader _reader;
    private readonly SealedDelivery _delivery;
    private readonly AccessGuard _guard;
    private readonly ConcurrentDictionary<long, bool> _owned = new();

    internal MailAccess(Actor actor, IAccountSession keys, ISealpostStore store, MailboxService mailboxes, MessageReader reader, SealedDelivery delivery, AccessGuard guard)
    {
        _actor = actor;
        _keys = keys;
        _store = store;
        _mailboxes = mailboxes;
        _reader = reader;
        _delivery = delivery;
        _guard = guard;
    }

    public long AccountId => _keys.AccountId;

    /// <summary>The access grant this is read under (another account's mail, read-only); null for the owner's own.</summary>
    public AccessGrant? Grant { get; internal init; }

    internal AccessGrantService? Grants { private get; init; }

    public Actor Actor => _actor;

    private IMailStore Mail => _store.Mail;

    private Scope Own => Scope.OfAccount(_actor.TenantId ?? -1, AccountId);

    // ---- mailboxes by name ----

    public async Task<Mailbox?> FindAsync(string path, CancellationToken ct) => Remember(await _mailboxes.FindAsync(AccountId, _keys.Names, path, ct));

    public async Task<IReadOnlyList<(string Path, Mailbox Mailbox)>> ListAsync(CancellationToken ct)
    {
        var all = await _mailboxes.ListAsync(AccountId, _keys.Names, ct);
        foreach (var (_, m) in all)
        {
            Remember(m);
        }

        return all;
    }

    public async Task<Mailbox> CreateAsync(string path, MailboxRole role, CancellationToken ct)
    {
        Write();
        var created = Remember(await _mailboxes.CreateAsync(AccountId, _keys.Names, path, role, ct))!;
        await ReattachSubscriptionsAsync(ct);
        return (await Mail.GetMailboxAsync(created.Id, ct)) ?? created;
    }

    /// <summary>
    /// RFC 9051 §6.3.6: children move with their parent and UIDVALIDITY is kept. Renaming INBOX moves
    /// its messages to a new mailbox of that name and leaves INBOX empty; nothing is renamed to INBOX.
    /// </summary>
    public async Task RenameAsync(string from, string to, CancellationToken ct)
    {
        Write();
        if (MailboxService.Normalise(to) == "INBOX")
        {
            throw SealpostException.Conflict("INBOX exists");
        }

        var source = await FindAsync(from, ct) ?? throw SealpostException.NotFound("mailbox does not exist");
        if (source.Role != MailboxRole.Inbox)
        {
            // A subscription moves with its mailbox (it is on the row); a name subscribed while it had
            // no mailbox is the new mailbox's from now on.
            await _mailboxes.RenameAsync(AccountId, _keys.Names, from, to, ct);
            await ReattachSubscriptionsAsync(ct);
            return;
        }

        var target = await CreateAsync(to, MailboxRole.None, ct);
        var uids = (await Mail.ListMessagesAsync(source.Id, UidRange.All, ct)).Select(m => m.Uid).ToList();
        if (uids.Count > 0)
        {
            var moved = await Mail.MoveMessagesAsync(source.Id, uids, target.Id, ct);
            await _reader.RefileAsync(_keys, target.Id, moved.DestinationUids, ct);
        }
    }

    /// <summary>Deletes a mailbox; its subscription stays, detached (RFC 9051 §6.3.7: a server SHOULD NOT drop it).</summary>
    public async Task DeleteAsync(string path, CancellationToken ct)
    {
        Write();
        var mailbox = await FindAsync(path, ct);
        await _mailboxes.DeleteAsync(AccountId, _keys.Names, path, ct);
        if (mailbox is { Subscribed: true })
        {
            var name = MailboxService.Normalise(path);
            await Mail.AddDetachedSubscriptionAsync(AccountId, SubscriptionKey(name), _keys.Names.Seal(AccountId, name), ct);
        }
    }

    // ---- subscriptions (RFC 9051 §6.3.7-8) ----

    private byte[] SubscriptionKey(string normalisedPath) => _keys.Names.LookupKey(AccountId, DetachedSubscription.LookupName(normalisedPath));

    /// <summary>
    /// Subscribes or unsubscribes a name, whether or not a mailbox has it (a name without one is kept
    /// detached and listed as \NonExistent until a mailbox of that name is made).
    /// </summary>
    public async Task SubscribeAsync(string path, bool subscribe, CancellationToken ct)
    {
        Write();
        var name = MailboxService.Normalise(path);
        if (await FindAsync(name, ct) is { } mailbox)
        {
            await Mail.SetSubscribedAsync(mailbox.Id, subscribe, ct);
        }
        else if (subscribe)
        {
            await Mail.AddDetachedSubscriptionAsync(AccountId, SubscriptionKey(name), _keys.Names.Seal(AccountId, name), ct);
            return;
        }

        if (!subscribe)
        {
            await Mail.RemoveDetachedSubscriptionAsync(AccountId, SubscriptionKey(name), ct);
        }
    }

    /// <summary>The subscribed names no mailbox has, in order (names this session cannot open are left out).</summary>
    public async Task<IReadOnlyList<string>> ListDetachedSubscriptionsAsync(CancellationToken ct) =>
        (await Mail.ListDetachedSubscriptionsAsync(AccountId, ct))
            .Select(d => _keys.Names.Unseal(AccountId, d.SealedName)).OfType<string>().Order(StringComparer.Ordinal).ToList();

    /// <summary>A detached subscription whose name a mailbox now has moves onto that mailbox.</summary>
    private async Task ReattachSubscriptionsAsync(CancellationToken ct)
    {
        foreach (var detached in await Mail.ListDetachedSubscriptionsAsync(AccountId, ct))
        {
            if (_keys.Names.Unseal(AccountId, detached.SealedName) is { } name
                && await _mailboxes.FindAsync(AccountId, _keys.Names, name, ct) is { } mailbox)
            {
                await Mail.SetSubscribedAsync(mailbox.Id, true, ct);
                await Mail.RemoveDetachedSubscriptionAsync(AccountId, detached.NameKey, ct);
            }
        }
    }

    public async Task<Mailbox?> FindByRoleAsync(MailboxRole role, CancellationToken ct) => Remember(await Mail.FindMailboxByRoleAsync(AccountId, role, ct));

    public async Task<IReadOnlyList<Mailbox>> ListMailboxesAsync(CancellationToken ct)
    {
        var all = await Mail.ListMailboxesAsync(AccountId, ct);
        foreach (var m in all)
        {
            Remember(m);
        }

        return all;
    }

    public async Task<Mailbox?> GetMailboxAsync(long mailboxId, CancellationToken ct)
    {
        await OwnAsync(mailboxId, ct);
        return await Mail.GetMailboxAsync(mailboxId, ct);
    }

    // ---- messages ----

    public async Task<(uint[] Uids, uint FirstUnseen)> ListUidsAsync(long mailboxId, CancellationToken ct)
    {
        await OwnAsync(mailboxId, ct);
        await GrantedReadAsync(mailboxId, () => "mailbox opened", ct);
        return await Mail.ListUidsAsync(mailboxId, ct);
    }

    /// <summary>Claims \Recent for this session (see <see cref="IMailStore.ClaimRecentAsync"/>); per-user state, so a read-write open only.</summary>
    public async Task<uint> ClaimRecentAsync(long mailboxId, uint throughUid, CancellationToken ct)
    {
        Write();
        await OwnAsync(mailboxId, ct);
        return await Mail.ClaimRecentAsync(mailboxId, throughUid, ct);
    }

    public async Task<IReadOnlyList<MessageRecord>> ListMessagesAsync(long mailboxId, UidRange range, CancellationToken ct)
    {
        await OwnAsync(mailboxId, ct);
        return await Mail.ListMessagesAsync(mailboxId, range, ct);
    }

    public async Task<ChangeSet> GetChangesAsync(long mailboxId, long sinceModSeq, CancellationToken ct)
    {
        await OwnAsync(mailboxId, ct);
        return await Mail.GetChangesAsync(mailboxId, sinceModSeq, ct);
    }

    public async Task<FlagChangeResult> ChangeFlagsAsync(long mailboxId, IReadOnlyList<uint> uids, FlagChange change, CancellationToken ct)
    {
        Write();
        await OwnAsync(mailboxId, ct);
        return await Mail.ChangeFlagsAsync(mailboxId, uids, change, ct);
    }

    public async Task<CopyResult> CopyMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken ct)
    {
        Write();
        await OwnAsync(sourceMailboxId, ct);
        await OwnAsync(destinationMailboxId, ct);
        var copied = await Mail.CopyMessagesAsync(sourceMailboxId, uids, destinationMailboxId, ct);
        await _reader.RefileAsync(_keys, destinationMailboxId, copied.DestinationUids, ct); // under the destination's folder key
        return copied;
    }

    public async Task<CopyResult> MoveMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken ct)
    {
        Write();
        await OwnAsync(sourceMailboxId, ct);
        await OwnAsync(destinationMailboxId, ct);
        var moved = await Mail.MoveMessagesAsync(sourceMailboxId, uids, destinationMailboxId, ct);
        await _reader.RefileAsync(_keys, destinationMailboxId, moved.DestinationUids, ct); // under the destination's folder key
        return moved;
    }

    /// <summary>
    /// Removes the messages flagged \Deleted that <paramref name="include"/> selects (all of them when
    /// null): EXPUNGE, UID EXPUNGE and CLOSE. Null when there was nothing to remove.
    /// </summary>
    public async Task<ExpungeResult?> ExpungeDeletedAsync(long mailboxId, Func<uint, bool>? include, CancellationToken ct)
    {
        Write();
        await OwnAsync(mailboxId, ct);
        var deleted = (await Mail.ListMessagesAsync(mailboxId, UidRange.All, ct))
            .Where(m => m.Flags.HasFlag(MessageFlags.Deleted) && (include is null || include(m.Uid)))
            .Select(m => m.Uid).ToList();
        return deleted.Count == 0 ? null : await Mail.ExpungeAsync(mailboxId, deleted, ct);
    }

    public async Task<ExpungeResult> ExpungeAsync(long mailboxId, IReadOnlyList<uint> uids, CancellationToken ct)
    {
        Write();
        await OwnAsync(mailboxId, ct);
        return await Mail.ExpungeAsync(mailboxId, uids, ct);
    }

    /// <summary>Until disposed, background work on this node (the re-wrap after a login) waits for this session's large read.</summary>
    public IDisposable LargeRead() => _reader.LargeRead();

    public async Task<MetadataView?[]> MetadataForAsync(long mailboxId, IReadOnlyList<MessageRecord> records, CancellationToken ct)
    {
        await OwnAsync(mailboxId, ct);
        await GrantedReadAsync(mailboxId, () => records.Count == 0 ? "no messages" : $"envelope and headers of {records.Count} message(s), UIDs {records.Min(r => r.Uid)}-{records.Max(r => r.Uid)}", ct);
        return await _reader.MetadataForAsync(_keys, mailboxId, records, ct);
    }

    public async Task<OpenedMessage> OpenAsync(MessageRecord record, CancellationToken ct)
    {
        await OwnAsync(record.MailboxId, ct);
        await GrantedReadAsync(record.MailboxId, () => $"message UID {record.Uid} opened", ct);
        return await _reader.OpenAsync(_keys, record, ct);
    }

    /// <summary>Under a grant: refused once it has ended (revoked, expired), and recorded while it stands.</summary>
    private async Task GrantedReadAsync(long mailboxId, Func<string> what, CancellationToken ct)
    {
        if (Grant is null)
        {
            return;
        }

        await CheckGrantAsync(ct);
        await Grants!.RecordReadAsync(_actor, Grant, mailboxId, what(), ct);
    }

    /// <summary>Throws (NOPERM to the client) when the grant this access was opened under has ended.</summary>
    public async Task CheckGrantAsync(CancellationToken ct)
    {
        if (Grant is not null && !await Grants!.IsOpenAsync(Grant.Id, ct))
        {
            throw new SealpostException(ErrorKind.Forbidden, "the access grant has ended (revoked or expired)");
        }
    }

    /// <summary>
    /// Stores messages in one mailbox, all or none (RFC 3502 §6): the quota is checked for all of
    /// them first, and if storing one fails the ones already stored are expunged again.
    /// </summary>
    public async Task<IReadOnlyList<uint>> AppendAsync(long mailboxId, IReadOnlyList<(MessageFlags Flags, IReadOnlyList<int> KeywordIds, DateTimeOffset Date, ReadOnlyMemory<byte> Content, bool Binary)> messages, CancellationToken ct)
    {
        Write();
        await OwnAsync(mailboxId, ct);
        var account = await GetAccountAsync(ct);
        if (account.HasQuota && !account.QuotaAllows((await Mail.GetUsageAsync(AccountId, ct)).Bytes, messages.Sum(m => (long)m.Content.Length)))
        {
            throw SealpostException.Limit("mailbox is over quota");
        }

        var uids = new List<uint>();
        try
        {
            foreach (var (flags, keywordIds, date, content, binary) in messages)
            {
                var stored = await _delivery.DeliverAsync(content, [new DeliveryTarget(AccountId, mailboxId, flags, keywordIds)], date, ct, keepLineEnds: binary);
                uids.Add(stored[0].Uid);
            }
        }
        catch (Exception) when (uids.Count > 0)
        {
            await Mail.ExpungeAsync(mailboxId, uids, CancellationToken.None);
            throw;
        }

        return uids;
    }

    // ---- account-wide ----

    public Task<QuotaUsage> GetUsageAsync(CancellationToken ct) => Mail.GetUsageAsync(AccountId, ct);

    /// <summary>The owner's account as it is now (quota changes show without a new login).</summary>
    public async Task<Account> GetAccountAsync(CancellationToken ct) =>
        await _store.Directory.GetAccountAsync(AccountId, ct) ?? throw SealpostException.NotFound("the account no longer exists");

    public Task<IReadOnlyList<Keyword>> ListKeywordsAsync(CancellationToken ct) => Mail.ListKeywordsAsync(AccountId, ct);

    public Task<Keyword> GetOrCreateKeywordAsync(byte[] nameKey, byte[] sealedName, CancellationToken ct)
    {
        Write();
        return Mail.GetOrCreateKeywordAsync(AccountId, nameKey, sealedName, ct);
    }

    /// <summary>Change notifications of the owner's mailboxes (IDLE, NOTIFY), from every node.</summary>
    public IChangeSubscription SubscribeChanges() => _store.Changes.Subscribe(AccountId);

    private void Write()
    {
        if (Grant is not null)
        {
            throw new SealpostException(ErrorKind.Forbidden, "not permitted: an access grant reads, read-only");
        }

        _guard.Require(_actor, Operation.MailWrite, Own);
    }

    private Mailbox? Remember(Mailbox? mailbox)
    {
        if (mailbox is not null)
        {
            _owned[mailbox.Id] = mailbox.AccountId == AccountId;
        }

        return mailbox;
    }

    private async ValueTask OwnAsync(long mailboxId, CancellationToken ct)
    {
        if (!_owned.TryGetValue(mailboxId, out var owned))
        {
            var mailbox = await Mail.GetMailboxAsync(mailboxId, ct) ?? throw SealpostException.NotFound("mailbox does not exist");
            owned = mailbox.AccountId == AccountId;
            _owned[mailboxId] = owned;
        }

        if (!owned)
        {
            await _guard.RecordRefusalAsync(_actor, Operation.MailRead, null);
            throw new SealpostException(ErrorKind.Forbidden, "not permitted: that mailbox belongs to another account");
        }
    }
}
