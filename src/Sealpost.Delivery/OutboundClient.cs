using MailKit;
using MailKit.Net.Smtp;
using MimeKit;

namespace Sealpost.Delivery;

/// <summary>
/// MailKit's SMTP client (PIPELINING, CHUNKING, 8BITMIME, SMTPUTF8, DSN, REQUIRETLS) with one
/// change: a recipient the peer refuses is recorded, not thrown, so one message's recipients each
/// get their own outcome (RFC 5321 §3.3).
/// </summary>
internal sealed class OutboundClient : SmtpClient
{
    private readonly Dictionary<string, DeliveryReply> _refused = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, DeliveryReply> _accepted = new(StringComparer.OrdinalIgnoreCase);
    private Func<MailboxAddress, DeliveryStatusNotification?> _notify = _ => null;
    private string? _envelopeId;

    public int MessagesSent { get; set; }

    /// <summary>The peer's address this connection went to (for TLS-RPT failure details).</summary>
    public string? RemoteAddress { get; set; }

    public IReadOnlyDictionary<string, DeliveryReply> Refused => _refused;

    public IReadOnlyDictionary<string, DeliveryReply> Accepted => _accepted;

    /// <summary>Starts a transaction's bookkeeping: RFC 3461 NOTIFY per recipient and ENVID.</summary>
    public void Begin(Func<MailboxAddress, DeliveryStatusNotification?> notify, string? envelopeId, DeliveryStatusNotificationType ret)
    {
        _refused.Clear();
        _accepted.Clear();
        _notify = notify;
        _envelopeId = envelopeId;
        DeliveryStatusNotificationType = ret;
    }

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        _refused[mailbox.Address] = new DeliveryReply((int)response.StatusCode, response.Response);

    protected override void OnRecipientAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        _accepted[mailbox.Address] = new DeliveryReply((int)response.StatusCode, response.Response);

    protected override void OnNoRecipientsAccepted(MimeMessage message) => throw new NoRecipientsAcceptedException();

    protected override DeliveryStatusNotification? GetDeliveryStatusNotifications(MimeMessage message, MailboxAddress mailbox) => _notify(mailbox);

    protected override string? GetEnvelopeId(MimeMessage message) => _envelopeId;
}

/// <summary>Every recipient of a transaction was refused; their replies are in <see cref="OutboundClient.Refused"/>.</summary>
internal sealed class NoRecipientsAcceptedException : Exception;
