using System.Text;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Services;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Smtp;

public enum RecipientStatus { Local, Unknown, Remote, OverQuota }

public sealed record RecipientCheck(RecipientStatus Status, IReadOnlyList<Account> Accounts);

/// <summary>What SMTP needs from the domain: recipient checks, sender ownership, and sealed delivery.</summary>
public sealed class SmtpDeliveryAgent(ISealpostStore store, RecipientResolver recipients, SealedDelivery delivery, DirectoryService directory, QueueSealer queue, long quotaGraceBytes)
{
    /// <summary>Queues a message for other organisations; returns once the sealed entry is durable.</summary>
    public Task<long> EnqueueAsync(OutboundMessage message, CancellationToken ct) => store.Queue.EnqueueAsync(queue.Seal(message), ct);

    public DirectoryService Directory => directory;

    /// <summary>RFC 5321 §3.3 RCPT: is the address ours, who receives it, and is there room (declared size + grace)?</summary>
    public async Task<RecipientCheck> CheckRecipientAsync(MailAddress address, long declaredSize, CancellationToken ct)
    {
        if (await store.Directory.FindDomainAsync(address.Domain, ct) is null)
        {
            return new RecipientCheck(RecipientStatus.Remote, []);
        }

        var expansion = await recipients.ExpandAsync(address, ct);
        if (!expansion.Known || expansion.LocalAccounts.Count == 0)
        {
            return new RecipientCheck(RecipientStatus.Unknown, []);
        }

        foreach (var account in expansion.LocalAccounts.Where(a => a.HasQuota))
        {
            var usage = await store.Mail.GetUsageAsync(account.Id, ct);
            if (usage.Bytes + declaredSize > account.QuotaBytes + quotaGraceBytes)
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
            var inbox = await store.Mail.FindMailboxByRoleAsync(account.Id, role, ct)
                ?? throw new SealpostException(ErrorKind.TemporarilyUnavailable, "a recipient has no inbox");
            targets.Add(new DeliveryTarget(account.Id, inbox.Id));
        }

        await delivery.DeliverAsync(message, targets, DateTimeOffset.UtcNow, ct);
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
