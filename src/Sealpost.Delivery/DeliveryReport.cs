using System.Globalization;
using System.Text;
using MimeKit;
using Sealpost.Crypto.Vault;

namespace Sealpost.Delivery;

/// <summary>Which kind of delivery status notification: recipients given up on, or still being tried.</summary>
public enum ReportKind
{
    Failed,
    Delayed,
    /// <summary>Delivered to a next hop that does not offer DSN, for a sender who asked NOTIFY=SUCCESS (RFC 3461 §5.2.2).</summary>
    Relayed,
}

/// <summary>
/// Builds RFC 3464 delivery status notifications: multipart/report (RFC 6522) with a human part, a
/// message/delivery-status part (one per-message group, one group per recipient with Final- and
/// Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code) and the original message, or
/// only its headers when the sender asked RET=HDRS (RFC 3461 §4.3). Marked Auto-Submitted
/// (RFC 3834) and sent from the null reverse-path, so they never cause another report.
/// </summary>
public static class DeliveryReport
{
    public sealed record Line(RecipientProgress Recipient, string? OriginalRecipient, DeliveryReply Reply);

    public static MimeMessage Build(ReportKind kind, string reportingMta, OutboundMessage original, IReadOnlyList<Line> lines, DateTimeOffset arrival, DateTimeOffset? retryUntil, DateTimeOffset now)
    {
        var report = new MimeMessage();
        report.From.Add(new MailboxAddress("Mail Delivery System", $"MAILER-DAEMON@{reportingMta}"));
        report.To.Add(MailboxAddress.Parse(original.ReturnPath));
        report.Subject = kind switch
        {
            ReportKind.Failed => "Undelivered Mail Returned to Sender",
            ReportKind.Delayed => "Delayed Mail (still being retried)",
            _ => "Successful Mail Delivery Report",
        };
        report.Date = now;
        report.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(reportingMta);
        report.Headers.Add("Auto-Submitted", "auto-replied");

        var human = new StringBuilder();
        human.Append(CultureInfo.InvariantCulture, $"This is the mail system at {reportingMta}.\r\n\r\n");
        human.Append(kind switch
        {
            ReportKind.Failed => "Your message could not be delivered to one or more recipients. It is attached below.\r\n\r\n",
            ReportKind.Delayed => $"Your message has not been delivered yet to one or more recipients. Delivery will be tried until {retryUntil:u}; you need not send it again.\r\n\r\n",
            _ => "Your message was handed to the recipients' mail system, which does not send delivery notifications of its own.\r\n\r\n",
        });
        foreach (var line in lines)
        {
            human.Append(CultureInfo.InvariantCulture, $"<{line.Recipient.Address}>: {line.Reply}\r\n");
        }

        var multipart = new MultipartReport("delivery-status");
        multipart.Add(new TextPart("plain") { Text = human.ToString() });

        var status = new MessageDeliveryStatus();
        var perMessage = new HeaderList { { "Reporting-MTA", "dns; " + reportingMta } };
        if (original.MailParameters.TryGetValue("ENVID", out var envid) && !string.IsNullOrEmpty(envid))
        {
            perMessage.Add("Original-Envelope-Id", XtextDecode(envid));
        }

        perMessage.Add("Arrival-Date", MimeKit.Utils.DateUtils.FormatDate(arrival));
        status.StatusGroups.Add(perMessage);
        foreach (var line in lines)
        {
            var group = new HeaderList();
            if (line.OriginalRecipient is { } orcpt)
            {
                group.Add("Original-Recipient", XtextDecode(orcpt));
            }

            group.Add("Final-Recipient", "rfc822; " + line.Recipient.Address);
            group.Add("Action", kind switch { ReportKind.Failed => "failed", ReportKind.Delayed => "delayed", _ => "relayed" });
            group.Add("Status", line.Reply.Status);
            if (line.Recipient.Host is { } host)
            {
                group.Add("Remote-MTA", "dns; " + host);
            }

            group.Add("Diagnostic-Code", "smtp; " + line.Reply);
            if (line.Recipient.At is { } at)
            {
                group.Add("Last-Attempt-Date", MimeKit.Utils.DateUtils.FormatDate(at));
            }

            if (kind == ReportKind.Delayed && retryUntil is { } until)
            {
                group.Add("Will-Retry-Until", MimeKit.Utils.DateUtils.FormatDate(until));
            }

            status.StatusGroups.Add(group);
        }

        multipart.Add(status);
        var headersOnly = original.MailParameters.TryGetValue("RET", out var ret) && string.Equals(ret, "HDRS", StringComparison.OrdinalIgnoreCase);
        using var stream = new MemoryStream(original.Message);
        var message = MimeMessage.Load(stream);
        if (headersOnly)
        {
            using var headers = new MemoryStream();
            message.Headers.WriteTo(headers);
            multipart.Add(new MimePart("text", "rfc822-headers") { Content = new MimeContent(new MemoryStream(headers.ToArray())) });
        }
        else
        {
            multipart.Add(new MessagePart("rfc822") { Message = message });
        }

        report.Body = multipart;
        return report;
    }

    /// <summary>
    /// Which recipients the sender asked to hear about (RFC 3461 §4.1): failures and delays by
    /// default, none for NOTIFY=NEVER, only the kinds named otherwise.
    /// </summary>
    public static bool Wanted(ReportKind kind, IReadOnlyDictionary<string, string?>? parameters)
    {
        if (parameters is null || !parameters.TryGetValue("NOTIFY", out var notify) || string.IsNullOrEmpty(notify))
        {
            return kind != ReportKind.Relayed; // success is reported only when asked for
        }

        var keywords = notify.Split(',').Select(k => k.Trim().ToUpperInvariant()).ToHashSet();
        return !keywords.Contains("NEVER") && keywords.Contains(kind switch { ReportKind.Failed => "FAILURE", ReportKind.Delayed => "DELAY", _ => "SUCCESS" });
    }

    /// <summary>RFC 3461 §4: xtext "+XX" hex escapes.</summary>
    private static string XtextDecode(string text)
    {
        var output = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '+' && i + 2 < text.Length && byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                output.Append((char)b);
                i += 2;
            }
            else
            {
                output.Append(text[i]);
            }
        }

        return output.ToString();
    }
}
