using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Smtp;

namespace Sealpost.Tests.Support;

/// <summary>Submits mail as the dev account alice over a server's submission port (STARTTLS, AUTH), with MailKit.</summary>
public static class Submitter
{
    public static MimeMessage Message(string subject, params string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@example.test"));
        foreach (var address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Body of " + subject };
        return message;
    }

    /// <summary>One message from outside (sender@outside.example) to <paramref name="to"/> over the inbound port, as another organisation's MTA sends it; throws on a refusal (a 4xx deferral included).</summary>
    public static async Task SendInboundAsync(this TestServer server, string to, string subject)
    {
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync("127.0.0.1", server.Server.SmtpEndpoint(SmtpListenerKind.Inbound).Port, SecureSocketOptions.None);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@outside.example"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "body of " + subject };
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }

    /// <summary>One message from alice to <paramref name="to"/>; returns once the server answered 250.</summary>
    public static Task SendAsAliceAsync(this TestServer server, string subject, params string[] to) =>
        SendAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Submission), [Message(subject, to)]);

    /// <summary>Messages over one authenticated session to <paramref name="submission"/>.</summary>
    public static async Task SendAsync(IPEndPoint submission, IEnumerable<MimeMessage> messages, SmtpClient? client = null)
    {
        using var owned = client is null ? new SmtpClient() : null;
        var smtp = client ?? owned!;
        smtp.ServerCertificateValidationCallback = (_, _, _, _) => true;
        await smtp.ConnectAsync(submission.Address.ToString(), submission.Port, SecureSocketOptions.StartTls);
        await smtp.AuthenticateAsync("alice@example.test", "alice-dev-password");
        foreach (var message in messages)
        {
            await smtp.SendAsync(message);
        }

        await smtp.DisconnectAsync(true);
    }
}
