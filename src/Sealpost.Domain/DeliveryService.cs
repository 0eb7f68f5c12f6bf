using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Addressing;
using Sealpost.Core.Caching;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;
using Sealpost.Domain.Queue;

namespace Sealpost.Domain;

public enum RecipientStatus { Local, Unknown, Remote, OverQuota }

/// <summary>What RCPT learned: local accounts that receive it, and outside addresses an alias or group forwards it to.</summary>
public sealed record RecipientCheck(RecipientStatus Status, IReadOnlyList<Account> Accounts)
{
    public IReadOnlyList<MailAddress> Forwards { get; init; } = [];
}

/// <summary>Per-account limits on mail to other organisations (Delivery:MaxMessagesPerAccountPerHour, MaxRecipientsPerAccountPerHour); 0 is no limit.</summary>
public sealed record SendingLimits(int MessagesPerHour, int RecipientsPerHour);

/// <summary>
/// Delivery of mail into the organisation and out of it: recipient checks, sender ownership, sealed
/// delivery, the outbound queue. The actor is the server for inbound SMTP (on behalf of the peer,
/// whose address it carries) and the sending account for submission; every message leaves one
/// audit record (counts and sizes, never addresses' content or subjects). The
/// directory answers every message needs (is the domain ours, whom does the address reach, how full
/// is the mailbox, which mailbox is the Inbox) are reused for <c>lookupTtl</c>
/// (<c>Smtp:LookupCacheSeconds</c>); unknown addresses are never cached, so a new account receives
/// at once. Account keys are not cached: a delivery always seals to the current key.
/// </summary>
[DomainService]
public sealed class DeliveryService(ISealpostStore store, RecipientResolver recipients, SealedDelivery delivery, QueueSealer queue, AccessGuard guard, long quotaGraceBytes, TimeSpan lookupTtl, QueueWakeup? wakeup = null, DkimService? dkim = null, SendingLimits? limits = null, Microsoft.Extensions.Logging.ILogger? logger = null, Srs? srs = null)
{
    private const int CacheEntries = 50_000;
    private readonly TtlCache<string, Expansion?> _expansions = new(lookupTtl, CacheEntries);
    private readonly TtlCache<long, long> _usage = new(lookupTtl, CacheEntries);
    private readonly TtlCache<string, bool> _ourDomains = new(lookupTtl, CacheEntries);
    private readonly TtlCache<(long Account, MailboxRole Role), long> _mailboxes = new(lookupTtl, CacheEntries);

    /// <summary>Queues a message for other organisations, DKIM-signed for its From domain; returns once the sealed entry and its audit record are durable.</summary>
    [Requires(Operation.MailDeliver)]
    public async Task<long> EnqueueAsync(Actor actor, OutboundMessage message, string messageId, CancellationToken ct)
    {
        await guard.RequireAsync(actor, Operation.MailDeliver, Scope.Platform);
        if (dkim is not null)
        {
            message = message with { Message = await dkim.SignAsync(message.Message, ct) };
        }

        var now = DateTimeOffset.UtcNow;
        var state = QueueState.Ready;
        string? overLimit = null;
        if (actor.AccountId is { } accountId && limits is { } l && (l.MessagesPerHour > 0 || l.RecipientsPerHour > 0))
        {
            var (messages, sent) = await store.Queue.CountSendAsync(accountId, message.Recipients.Count, now, now.AddHours(-1), ct);
            if ((l.MessagesPerHour > 0 && messages > l.MessagesPerHour) || (l.RecipientsPerHour > 0 && sent > l.RecipientsPerHour))
            {
                // A compromised account: its mail is kept, not sent, until an operator looks.
                state = QueueState.Held;
                overLimit = $"sending limit: {messages} messages, {sent} outside recipients in the last hour (limits {l.MessagesPerHour}, {l.RecipientsPerHour})";
            }
        }

        var id = await store.Queue.EnqueueAsync(rowId => queue.Seal(rowId, message), message.Message.Length, now, ct, state);
        Core.Observability.SealpostMetrics.Queued.Add(1, new KeyValuePair<string, object?>("state", state == QueueState.Held ? "held" : "ready"));
        if (overLimit is not null)
        {
            if (logger is not null)
            {
                DomainLog.SendingLimitHeld(logger, actor.AccountId ?? 0, id);
            }

            try
            {
                await guard.RecordAsync(actor, AuditAction.QueueHeld, $"queue {id}", AuditOutcome.Refused, overLimit);
            }
            catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
            {
            }
        }

        wakeup?.Notify();
        await RecordDeliveryAsync(actor, AuditAction.MessageSubmitted, $"id {messageId}; {message.Recipients.Count} remote; {message.Message.Length} bytes");
        return id;
    }

    /// <summary>
    /// Forgets what this node cached about recipients (an account suspended, deleted or shredded here):
    /// other nodes notice within <c>Smtp:LookupCacheSeconds</c>.
    /// </summary>
    public void ForgetRecipients()
    {
        _expansions.Clear();
        _usage.Clear();
    }

    /// <summary>RFC 5321 §3.3 RCPT: is the address ours, who receives it, and is there room (declared size + grace)?</summary>
    [Requires(Operation.MailDeliver)]
    public async Task<RecipientCheck> CheckRecipientAsync(Actor actor, MailAddress address, long declaredSize, CancellationToken ct)
    {
        await guard.RequireAsync(actor, Operation.MailDeliver, Scope.Platform);
        // null: the domain is not ours (remote). Only answers for local, known addresses are kept.
        var expansion = await _expansions.GetOrLoadAsync(address.Key, async (_, token) =>
            await store.Directory.FindDomainAsync(address.Domain, token) is null ? null : await recipients.ExpandAsync(address, token), ct);
        if (expansion is null)
        {
            return new RecipientCheck(RecipientStatus.Remote, []);
        }

        // A bounce to an address our forwarding rewrote goes back to the original sender.
        if (srs is not null && address.LocalPart.StartsWith("SRS0=", StringComparison.OrdinalIgnoreCase))
        {
            _expansions.Remove(address.Key);
            return srs.TryReverse(address.LocalPart, out var original) && MailAddress.TryParse(original, out var back, out _)
                ? new RecipientCheck(RecipientStatus.Local, []) { Forwards = [back] }
                : new RecipientCheck(RecipientStatus.Unknown, []);
        }

        var forwards = srs is null ? [] : expansion.RemoteAddresses;
        if (!expansion.Known || (expansion.LocalAccounts.Count == 0 && forwards.Count == 0))
        {
            _expansions.Remove(address.Key);
            return new RecipientCheck(RecipientStatus.Unknown, []);
        }

        foreach (var account in expansion.LocalAccounts.Where(a => a.HasQuota))
        {
            var used = await _usage.GetOrLoadAsync(account.Id, async (id, token) => (await store.Mail.GetUsageAsync(id, token)).Bytes, ct);
            if (!account.QuotaAllows(used, declaredSize, quotaGraceBytes))
            {
                return new RecipientCheck(RecipientStatus.OverQuota, []);
            }
        }

        return new RecipientCheck(RecipientStatus.Local, expansion.LocalAccounts) { Forwards = forwards };
    }

    /// <summary>
    /// Sends a message on to the outside addresses aliases and groups forward it to, with the
    /// envelope sender rewritten by SRS in <paramref name="viaDomain"/> (ours), so the next hop's SPF
    /// check sees our server as the sender's domain's agent and bounces come back through us.
    /// </summary>
    [Requires(Operation.MailDeliver)]
    public Task<long> ForwardAsync(Actor actor, string sender, DomainName viaDomain, IReadOnlyList<MailAddress> forwards, byte[] message, IReadOnlyDictionary<string, string?> mailParameters, string messageId, CancellationToken ct) =>
        EnqueueAsync(actor, new OutboundMessage(srs?.Forward(sender, viaDomain.Ascii) ?? sender, forwards.Select(f => f.ToString()).ToList(), mailParameters,
            forwards.Select(_ => (IReadOnlyDictionary<string, string?>)new Dictionary<string, string?>()).ToList(), message), messageId, ct);

    /// <summary>Whether the domain is one of ours (port 25's own-domain sender policy).</summary>
    [Requires(Operation.MailDeliver)]
    public async Task<bool> IsOurDomainAsync(Actor actor, DomainName domain, CancellationToken ct)
    {
        await guard.RequireAsync(actor, Operation.MailDeliver, Scope.Platform);
        return await _ourDomains.GetOrLoadAsync(domain.Ascii, async (_, token) => await store.Directory.FindDomainAsync(domain, token) is not null, ct);
    }

    /// <summary>The addresses an account may send as: its own and the aliases that lead to it.</summary>
    [Requires(Operation.MailSubmit)]
    public async Task<IReadOnlySet<string>> SendableAddressesAsync(Actor actor, Account account, CancellationToken ct)
    {
        await guard.RequireAsync(actor, Operation.MailSubmit, Scope.OfAccount(actor.TenantId ?? -1, account.Id), account.Address.ToString());
        var owned = new HashSet<string>(StringComparer.Ordinal) { account.Address.Key };
        foreach (var alias in await store.Directory.ListAliasesAsync(account.DomainId, ct))
        {
            if (alias.AliasTarget is { } target && target.Equals(account.Address))
            {
                owned.Add(alias.Address.Key);
            }
        }

        return owned;
    }

    /// <summary>Seals once for every account and stores it in each Inbox; returns only when durable.</summary>
    [Requires(Operation.MailDeliver)]
    public async Task DeliverAsync(Actor actor, byte[] message, IReadOnlyCollection<Account> accounts, string messageId, CancellationToken ct, MailboxRole role = MailboxRole.Inbox)
    {
        await guard.RequireAsync(actor, Operation.MailDeliver, Scope.Platform);
        var targets = new List<DeliveryTarget>();
        foreach (var account in accounts.DistinctBy(a => a.Id))
        {
            var inbox = await _mailboxes.GetOrLoadAsync((account.Id, role), async (key, token) =>
                (await store.Mail.FindMailboxByRoleAsync(key.Account, key.Role, token))?.Id
                ?? throw new SealpostException(ErrorKind.TemporarilyUnavailable, "a recipient has no inbox"), ct);
            targets.Add(new DeliveryTarget(account.Id, inbox));
        }

        try
        {
            await delivery.DeliverAsync(message, targets, DateTimeOffset.UtcNow, ct);
            Core.Observability.SealpostMetrics.Deliveries.Add(targets.Count);
        }
        catch (SealpostException)
        {
            // A mailbox renamed away or deleted since it was looked up: look again next time.
            foreach (var target in targets)
            {
                _mailboxes.Remove((target.AccountId, role));
            }

            throw;
        }

        foreach (var target in targets)
        {
            if (_usage.TryGet(target.AccountId, out var before))
            {
                _usage.Update(target.AccountId, used => used + message.Length);
                var account = accounts.First(a => a.Id == target.AccountId);
                await WarnIfQuotaCrossedAsync(account, before, before + message.Length, ct);
            }
        }

        await RecordDeliveryAsync(actor, AuditAction.MessageDelivered, $"id {messageId}; {targets.Count} local; {message.Length} bytes");
    }

    /// <summary>The thresholds at which an owner is told their mailbox is filling up.</summary>
    public static readonly int[] QuotaWarningPercents = [95, 80];

    // The usage the RCPT check cached before this delivery, and after it: a threshold crossed between
    // them is told once (another node may tell it too, within the cache's lifetime).
    private async Task WarnIfQuotaCrossedAsync(Account account, long before, long after, CancellationToken ct)
    {
        if (!account.HasQuota)
        {
            return;
        }

        foreach (var percent in QuotaWarningPercents)
        {
            var threshold = account.QuotaBytes * percent / 100;
            if (before < threshold && after >= threshold)
            {
                try
                {
                    await new OwnerNotices(store.Mail, delivery).QuotaCrossedAsync(account, percent, after, ct);
                }
                catch (SealpostException)
                {
                    // The mail itself is delivered; a missed warning is not worth failing it for.
                }

                return;
            }
        }
    }

    /// <summary>
    /// The message is already durable: if neither the audit store nor the spool can take its record,
    /// the mail is kept and answered anyway (acknowledged mail is never lost or doubled for the audit
    /// trail's sake); the spool-full alert is already logged.
    /// </summary>
    private async Task RecordDeliveryAsync(Actor actor, AuditAction action, string detail)
    {
        try
        {
            await guard.RecordAsync(actor, action, null, AuditOutcome.Success, detail);
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
        {
        }
    }
}
