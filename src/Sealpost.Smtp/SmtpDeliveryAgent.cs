using System.Text;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Caching;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Services;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Smtp;

public enum RecipientStatus { Local, Unknown, Remote, OverQuota }

public sealed record RecipientCheck(RecipientStatus Status, IReadOnlyList<Account> Accounts);

/// <summary>
/// What SMTP needs from the domain: recipient checks, sender ownership, and sealed delivery. The
/// directory answers every message needs (is the domain ours, whom does the address reach, how full
/// is the mailbox, which mailbox is the Inbox) are reused for <c>lookupTtl</c>
/// (<c>Smtp:LookupCacheSeconds</c>); unknown addresses are never cached, so a new account receives
/// at once. Account keys are not cached: a delivery always seals to the current key.
/// </summary>
public sealed class SmtpDeliveryAgent(ISealpostStore store, RecipientResolver recipients, SealedDelivery delivery, DirectoryService directory, QueueSealer queue, long quotaGraceBytes, TimeSpan lookupTtl)
{
    private const int CacheEntries = 50_000;
    private readonly TtlCache<string, Expansion?> _expansions = new(lookupTtl, CacheEntries);
    private readonly TtlCache<long, long> _usage = new(lookupTtl, CacheEntries);
    private readonly TtlCache<(long Account, MailboxRole Role), long> _mailboxes = new(lookupTtl, CacheEntries);

    /// <summary>Queues a message for other organisations; returns once the sealed entry is durable.</summary>
    public Task<long> EnqueueAsync(OutboundMessage message, CancellationToken ct) => store.Queue.EnqueueAsync(queue.Seal(message), ct);

    public DirectoryService Directory => directory;

    /// <summary>RFC 5321 §3.3 RCPT: is the address ours, who receives it, and is there room (declared size + grace)?</summary>
    public async Task<RecipientCheck> CheckRecipientAsync(MailAddress address, long declaredSize, CancellationToken ct)
    {
        // null: the domain is not ours (remote). Only answers for local, known addresses are kept.
        var expansion = await _expansions.GetOrLoadAsync(address.Key, async (_, token) =>
            await store.Directory.FindDomainAsync(address.Domain, token) is null ? null : await recipients.ExpandAsync(address, token), ct);
        if (expansion is null)
        {
            return new RecipientCheck(RecipientStatus.Remote, []);
        }

        if (!expansion.Known || expansion.LocalAccounts.Count == 0)
        {
            _expansions.Remove(address.Key);
            return new RecipientCheck(RecipientStatus.Unknown, []);
        }

        foreach (var account in expansion.LocalAccounts.Where(a => a.HasQuota))
        {
            var used = await _usage.GetOrLoadAsync(account.Id, async (id, token) => (await store.Mail.GetUsageAsync(id, token)).Bytes, ct);
            if (used + declaredSize > account.QuotaBytes + quotaGraceBytes)
            {
                return new RecipientCheck(RecipientStatus.OverQuota, []);
            }
        }

        return new RecipientCheck(RecipientStatus.Local, expansion.LocalAccounts);
    }

    /// <summary>The addresses an account may send as: its own and the aliases that lead to it.</summary>
    public async Task<IReadOnlySet<string>> SendableAddressesAsync(Account account, CancellationToken ct)
    {
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
    public async Task DeliverAsync(byte[] message, IReadOnlyCollection<Account> accounts, CancellationToken ct, MailboxRole role = MailboxRole.Inbox)
    {
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
            _usage.Update(target.AccountId, used => used + message.Length);
        }
    }

    /// <summary>Prepends trace headers (RFC 5321 §4.4) and, for submission, Message-ID and Date when missing (RFC 6409 §8).</summary>
    public static byte[] AddHeaders(byte[] message, string returnPath, string received, bool submission, string hostname)
    {
        var prefix = new StringBuilder();
        prefix.Append("Return-Path: <").Append(returnPath).Append(">\r\n");
        prefix.Append(received);
        if (submission)
        {
            var headerEnd = Sealpost.Mime.MessageAnalyzer.FindBodyStart(message, 0, message.Length);
            var header = Encoding.UTF8.GetString(message, 0, (int)headerEnd);
            if (!HasField(header, "message-id"))
            {
                prefix.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append('@').Append(hostname).Append(">\r\n");
            }

            if (!HasField(header, "date"))
            {
                prefix.Append("Date: ").Append(DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)).Append(" +0000\r\n");
            }
        }

        return [.. Encoding.UTF8.GetBytes(prefix.ToString()), .. message];
    }

    private static bool HasField(string header, string name) =>
        header.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase) || header.Contains("\n" + name + ":", StringComparison.OrdinalIgnoreCase);
}
