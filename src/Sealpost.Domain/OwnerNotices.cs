using System.Text;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Domain;

/// <summary>
/// Messages the platform itself puts into an owner's INBOX when something happened to their account
/// that they did not do themselves. Sealed like any other delivery.
/// </summary>
public sealed class OwnerNotices(IMailStore mail, SealedDelivery delivery)
{
    /// <summary>
    /// Where notices to addresses outside the mail system go (the outbound queue: sealed, DKIM-signed,
    /// retried); set by the host once delivery exists. Null: such notices are not sent.
    /// </summary>
    public Func<OutboundMessage, string, CancellationToken, Task>? Outbound { get; set; }

    /// <summary>
    /// Tells the owner of a reset: in their inbox, sealed to the new key version <paramref name="session"/>
    /// holds (it may still wait for its endorsement), and at their notify address outside the mail system,
    /// if they chose one: a channel whoever reset the password can neither read nor erase.
    /// </summary>
    public async Task PasswordWasResetAsync(Account account, IAccountSession session, string resetBy, CancellationToken ct)
    {
        await InboxNoticeOfResetAsync(account, session, ct);
        if (account.NotifyAddress.Length > 0 && Outbound is { } outbound)
        {
            var messageId = $"{Guid.NewGuid():N}@{account.Address.Domain.Ascii}";
            var message = Encoding.UTF8.GetBytes(
                $"From: Sealpost <postmaster@{account.Address.Domain.Ascii}>\r\nTo: <{account.NotifyAddress}>\r\n" +
                $"Subject: The password of {account.Address.ToAsciiDomainForm()} was reset\r\nDate: {DateTimeOffset.UtcNow:ddd, dd MMM yyyy HH:mm:ss} +0000\r\n" +
                $"Message-ID: <{messageId}>\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
                $"The mail password of {account.Address.ToAsciiDomainForm()} was reset by {resetBy} on {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC.\r\n\r\n" +
                "You get this at the address you chose for security notices. If you did not ask for the reset,\r\n" +
                "tell your security officer now.\r\n");
            await outbound(new OutboundMessage("", [account.NotifyAddress], new Dictionary<string, string?>(), [new Dictionary<string, string?>()], message), messageId, ct);
        }
    }

    /// <summary>Tells the owner that someone reads their mailbox under an access grant (where the organisation's policy says owners are told).</summary>
    public async Task AccessGrantedAsync(Account owner, string grantee, DateTimeOffset from, DateTimeOffset until, CancellationToken ct)
    {
        var text = $"{grantee} may read the mail in this mailbox, read-only, from {from:yyyy-MM-dd HH:mm} until {until:yyyy-MM-dd HH:mm} UTC,\r\n" +
            "under an access grant two security officers approved. Every message read is recorded in the audit trail.\r\n" +
            "Ask your security officer for the reason on file.\r\n";
        await SendAsync(owner, null, "Someone was granted access to your mailbox", text, ct);
        if (owner.NotifyAddress.Length > 0 && Outbound is { } outbound)
        {
            var messageId = $"{Guid.NewGuid():N}@{owner.Address.Domain.Ascii}";
            var message = Encoding.UTF8.GetBytes(
                $"From: Sealpost <postmaster@{owner.Address.Domain.Ascii}>\r\nTo: <{owner.NotifyAddress}>\r\n" +
                $"Subject: Someone was granted access to {owner.Address.ToAsciiDomainForm()}\r\nDate: {DateTimeOffset.UtcNow:ddd, dd MMM yyyy HH:mm:ss} +0000\r\n" +
                $"Message-ID: <{messageId}>\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text);
            await outbound(new OutboundMessage("", [owner.NotifyAddress], new Dictionary<string, string?>(), [new Dictionary<string, string?>()], message), messageId, ct);
        }
    }

    private Task InboxNoticeOfResetAsync(Account account, IAccountSession session, CancellationToken ct) =>
        SendAsync(account, session,
            "Your mail password was reset",
            "An administrator reset the password of this account.\r\n\r\n" +
            "Mail that arrived before the reset was sealed to your previous key. It stays stored, but it\r\n" +
            "can be read again only after the security officers recover that key. App passwords were\r\n" +
            "revoked; create new ones.\r\n\r\nIf you did not ask for this, tell your security officer.\r\n", ct);

    /// <summary>Tells the owner their mailbox crossed <paramref name="percent"/>% of its quota.</summary>
    public Task QuotaCrossedAsync(Account account, int percent, long usedBytes, CancellationToken ct) =>
        SendAsync(account, null,
            $"Your mailbox is {percent}% full",
            $"Your mailbox holds {usedBytes / 1024:N0} KiB of its {account.QuotaBytes / 1024:N0} KiB quota ({percent}% or more).\r\n\r\n" +
            "When it is full, new mail is refused and returned to its senders. Delete or archive old mail,\r\n" +
            "or ask your department's administrator for a larger quota.\r\n", ct);

    private async Task SendAsync(Account account, IAccountSession? session, string subject, string body, CancellationToken ct)
    {
        var inbox = await mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox, ct);
        if (inbox is null)
        {
            return;
        }

        var message = Encoding.UTF8.GetBytes(
            $"From: Sealpost <postmaster@{account.Address.Domain.Ascii}>\r\nTo: <{account.Address.ToAsciiDomainForm()}>\r\n" +
            $"Subject: {subject}\r\nDate: {DateTimeOffset.UtcNow:ddd, dd MMM yyyy HH:mm:ss} +0000\r\n" +
            $"Message-ID: <{Guid.NewGuid():N}@{account.Address.Domain.Ascii}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}");
        var target = new DeliveryTarget(account.Id, inbox.Id);
        await (session is null ? delivery.DeliverAsync(message, [target], DateTimeOffset.UtcNow, ct) : delivery.DeliverToSessionAsync(message, target, session, ct));
    }
}
