using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Core.Addressing;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// Mail delivered while its owner is away is wrapped to its public key (a delivery batch key sealed with HPKE); once the owner logs in, it moves under
/// its folders' keys in the background, before any read asks for it.
/// </summary>
public sealed class RewrapAfterLoginTests
{
    [Fact]
    public async Task A_login_rewraps_the_mail_delivered_meanwhile_without_a_read()
    {
        await using var server = await TestServer.StartAsync();
        var smtp = server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);
        using (var sender = new SmtpClient())
        {
            await sender.ConnectAsync(smtp.Address.ToString(), smtp.Port, SecureSocketOptions.None);
            for (var i = 0; i < 40; i++)
            {
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("x@remote.example"));
                message.To.Add(MailboxAddress.Parse("alice@example.test"));
                message.Subject = "while away " + i;
                message.Body = new TextPart("plain") { Text = "delivered while alice was away" };
                await sender.SendAsync(message);
            }

            await sender.DisconnectAsync(true);
        }

        var runtime = server.Server.Runtime;
        var alice = (await runtime.Store.Directory.FindAccountAsync(MailAddress.Parse("alice@example.test")))!;
        var inbox = (await runtime.Store.Mail.FindMailboxByRoleAsync(alice.Id, MailboxRole.Inbox))!;
        async Task<int[]> KindsAsync() => (await runtime.Store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).Select(m => (int)ContentKeyWrap.Describe(m.WrappedKey).Kind).ToArray();
        Assert.All(await KindsAsync(), kind => Assert.Equal(ContentKeyWrap.KindBatch, kind));

        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync("alice@example.test", "alice-dev-password"); // no SELECT, no FETCH
        var kinds = Array.Empty<int>();
        await Waiting.UntilAsync(() => (kinds = KindsAsync().GetAwaiter().GetResult()).All(k => k == ContentKeyWrap.KindFolder), "the delivered mail stayed under its delivery wrap after the login");
        Assert.Equal(40, kinds.Length);
        await Waiting.UntilAsync(() => server.Logs.ToString().Contains("[3014]", StringComparison.Ordinal), "the background re-wrap was not logged"); // logged once the account is done
    }
}
