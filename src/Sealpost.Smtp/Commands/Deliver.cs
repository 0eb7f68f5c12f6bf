using System.Globalization;
using System.Net;
using Sealpost.Connections;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Logging;

namespace Sealpost.Smtp;

/// <summary>What DATA and BDAT LAST do with a whole message: trace headers, sender checks, durable delivery, then 250.</summary>
public sealed partial class SmtpSession
{
    /// <summary>
    /// Waits for room in the shared processing memory (Limits:MaxMessageMemoryBytes), then takes the whole
    /// message into memory and delivers it; with no room within Smtp:DataTimeoutSeconds, 452 4.3.1.
    /// </summary>
    private async Task DeliverWithinMemoryAsync(long size, Func<byte[]> message, CancellationToken ct)
    {
        IDisposable? admitted = null;
        if (_context.MessageProcessing is { } gate && (admitted = await gate.EnterAsync(size, TimeSpan.FromSeconds(Smtp.DataTimeoutSeconds), ct)) is null)
        {
            SmtpLog.MemoryBudgetExhausted(_context.Logger, gate.Capacity);
            Send(SmtpReply.InsufficientStorage);
            return;
        }

        using (admitted)
        {
            await DeliverAsync(message(), ct);
        }
    }

    private async Task DeliverAsync(byte[] message, CancellationToken ct)
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var with = (_esmtp ? "ESMTP" : "SMTP") + (Tls ? "S" : "") + (_account is not null ? "A" : "");
        var received = $"Received: from {Sanitise(_helo!)} ({ClientEndpoint.AddressLiteral(Remote?.Address)}) by {_context.Options.Hostname} with {with} id {id}; " +
                       DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " +0000\r\n";
        if (_account is { } owner && _sendable is { } sendable && HeaderSenders(message).FirstOrDefault(a => !sendable.Contains(a)) is { } foreign)
        {
            SmtpLog.HeaderSenderRefused(_context.Logger, owner.Id);
            Send(SmtpReply.HeaderSenderNotOwned(foreign));
            return;
        }

        var role = Sealpost.Core.Mail.MailboxRole.Inbox;
        string? dkimDomain = null;
        if (_kind == SmtpListenerKind.Inbound && _context.SenderAuthentication is { } authenticator && Remote is not null)
        {
            // RFC 8601 §5: a sender's own Authentication-Results claiming to be ours are removed first.
            message = Authentication.SenderAuthenticator.RemoveOurResults(message, _context.Options.Hostname);
            var verdict = await authenticator.EvaluateAsync(Remote.Address, _helo!, _mail!.Address, message, ct);
            dkimDomain = verdict.Dkim == "pass" ? verdict.DkimDomain : null;
            received += verdict.Header(_context.Options.Hostname);
            if (verdict.Dmarc == "fail" && verdict.DmarcPolicy is "reject" or "quarantine")
            {
                if (Smtp.DmarcFailureAction() == DmarcFailureAction.Reject)
                {
                    SmtpLog.DmarcRejected(_context.Logger, id, verdict.FromDomain ?? "?");
                    Send(SmtpReply.DmarcRejected);
                    return;
                }

                if (Smtp.DmarcFailureAction() == DmarcFailureAction.Quarantine)
                {
                    role = Sealpost.Core.Mail.MailboxRole.Junk;
                }
            }
        }

        if (_kind == SmtpListenerKind.Inbound && Smtp.OwnDomainSenderAction() == OwnDomainSenderAction.Refuse && Remote is not null && !TrustedRelay(Remote.Address)
            && await ClaimedOwnDomainAsync(message, dkimDomain, ct) is { } claimed)
        {
            SmtpLog.OwnDomainRefused(_context.Logger, id, ClientEndpoint.AddressLiteral(Remote.Address));
            Send(SmtpReply.OwnDomainSpoofed(claimed));
            return;
        }

        var withHeaders = TraceHeaders.Add(message, _mail!.Address, received, IsSubmission, _context.Options.Hostname);
        try
        {
            // Both durable before 250. If the second fails the client retries and local recipients may
            // get a duplicate: at least once, never lost.
            var accounts = _recipients.SelectMany(r => r.Accounts).ToList();
            if (accounts.Count > 0)
            {
                await _context.Agent.DeliverAsync(SessionActor, withHeaders, accounts, id, ct, role);
            }

            foreach (var via in _forwards.DistinctBy(f => f.Target.Key).GroupBy(f => f.Via.Domain))
            {
                await _context.Agent.ForwardAsync(SessionActor, _mail.Address, via.Key, via.Select(f => f.Target).ToList(), withHeaders, _mail.Parameters, id, ct);
            }

            if (_remoteRecipients.Count > 0)
            {
                await _context.Agent.EnqueueAsync(SessionActor, new Sealpost.Crypto.Vault.OutboundMessage(
                    _mail.Address,
                    _remoteRecipients.Select(r => r.Address.ToString()).ToList(),
                    _mail.Parameters,
                    _remoteRecipients.Select(r => r.Parameters).ToList(),
                    withHeaders), id, ct);
            }

            SmtpLog.Delivered(_context.Logger, id, RecipientCount, withHeaders.Length);
            Send(SmtpReply.Queued(id));
        }
        catch (SealpostException ex)
        {
            SmtpLog.DeliveryFailed(_context.Logger, id, ex.Kind == ErrorKind.TemporarilyUnavailable ? FailureCause.Describe(ex) : ex.Kind.ToString());
            if (ex.Kind == ErrorKind.TemporarilyUnavailable)
            {
                Sealpost.Core.Observability.SealpostMetrics.RecordStoreError(MetricProtocol, FailureCause.Describe(ex));
            }
            Send(ex.Kind == ErrorKind.Forbidden ? SmtpReply.NotPermitted : SmtpReply.LocalError);
        }
    }

    private bool TrustedRelay(System.Net.IPAddress address)
    {
        var mapped = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var relay in Smtp.TrustedRelays)
        {
            if (System.Net.IPNetwork.TryParse(relay, out var network) ? network.Contains(mapped) : System.Net.IPAddress.TryParse(relay, out var one) && one.Equals(mapped))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The first of our own domains the message claims to come from (envelope sender, From and
    /// Sender headers) without a passing DKIM signature aligned with it; null if none.
    /// </summary>
    private async Task<string?> ClaimedOwnDomainAsync(byte[] message, string? dkimDomain, CancellationToken ct)
    {
        var claims = HeaderSenders(message).Append(_mail!.Address).Where(a => a.Contains('@', StringComparison.Ordinal)).Select(a => a[(a.LastIndexOf('@') + 1)..]).Distinct(StringComparer.OrdinalIgnoreCase);
        foreach (var claim in claims)
        {
            if (!DomainName.TryParse(claim, out var domain, out _) || !await _context.Agent.IsOurDomainAsync(SessionActor, domain, ct))
            {
                continue;
            }

            var aligned = dkimDomain is not null && (domain.Ascii.Equals(dkimDomain, StringComparison.OrdinalIgnoreCase)
                || domain.Ascii.EndsWith("." + dkimDomain, StringComparison.OrdinalIgnoreCase) || dkimDomain.EndsWith("." + domain.Ascii, StringComparison.OrdinalIgnoreCase));
            if (!aligned)
            {
                return domain.Ascii;
            }
        }

        return null;
    }

    /// <summary>
    /// The addresses a message says it is from (every From mailbox and the Sender), as address keys;
    /// an unparsable header counts as a foreign address ("?"), so it is refused rather than trusted.
    /// </summary>
    private static IEnumerable<string> HeaderSenders(byte[] message)
    {
        using var stream = new MemoryStream(message);
        MimeKit.HeaderList headers;
        try
        {
            headers = MimeKit.HeaderList.Load(stream);
        }
        catch (FormatException)
        {
            yield break;
        }

        foreach (var header in headers.Where(h => h.Id is MimeKit.HeaderId.From or MimeKit.HeaderId.Sender))
        {
            if (!MimeKit.InternetAddressList.TryParse(header.Value, out var list) || !list.Mailboxes.Any())
            {
                yield return "?";
                continue;
            }

            foreach (var mailbox in list.Mailboxes)
            {
                yield return MailAddress.TryParse(mailbox.Address, out var address, out _) ? address.Key : mailbox.Address;
            }
        }
    }

    /// <summary>A refusal by the permission matrix is 550 5.7.1, an unavailable store 451: the session goes on.</summary>
    private async Task AnsweringDomainErrorsAsync(Func<Task> command)
    {
        try
        {
            await command();
        }
        catch (SealpostException ex) when (ex.Kind is ErrorKind.Forbidden or ErrorKind.TemporarilyUnavailable)
        {
            Error(ex.Kind == ErrorKind.Forbidden ? SmtpReply.NotPermitted : SmtpReply.CommandFailed);
        }
    }

    private static string Sanitise(string helo) => new(helo.Take(64).Select(c => char.IsControl(c) || c is '(' or ')' ? '?' : c).ToArray());
}
