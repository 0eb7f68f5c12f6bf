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

    /// <summary>
    /// A mailbox large enough that SEARCH reads its metadata in slices and matches on every core, searched
    /// right after the login that starts the re-wrap: the answer is exactly the messages whose From the
    /// header itself names, and the re-wrap still completes once the SEARCH is done.
    /// </summary>
    [Fact]
    public async Task A_first_search_of_a_large_mailbox_right_after_login_finds_exactly_the_matching_messages()
    {
        await using var server = await TestServer.StartAsync();
        var runtime = server.Server.Runtime;
        var alice = (await runtime.Store.Directory.FindAccountAsync(MailAddress.Parse("alice@example.test")))!;
        var inbox = (await runtime.Store.Mail.FindMailboxByRoleAsync(alice.Id, MailboxRole.Inbox))!;
        const int Count = 2100;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; i < Count; i += 4)
            {
                var from = i % 7 == 0 ? "Seven <seven@remote.example>" : $"Other {i} <other{i}@remote.example>";
                var raw = System.Text.Encoding.ASCII.GetBytes($"From: {from}\r\nTo: alice@example.test\r\nSubject: message {i}\r\n\r\nbody {i}\r\n");
                await runtime.Delivery.DeliverAsync(raw, [new DeliveryTarget(alice.Id, inbox.Id)], DateTimeOffset.UtcNow);
            }
        })));

        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await imap.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
        var found = await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.FromContains("seven@remote"));
        var others = await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.Not(MailKit.Search.SearchQuery.FromContains("seven@remote")));

        Assert.Equal(Count / 7, found.Count);
        Assert.Equal(Count - (Count / 7), others.Count);
        var headers = await imap.Inbox.FetchAsync(found, new MailKit.FetchRequest(MailKit.MessageSummaryItems.Headers)); // the header as stored, not the metadata
        Assert.All(headers, h => Assert.Equal("Seven <seven@remote.example>", h.Headers![HeaderId.From]));
        await Waiting.UntilAsync(
            () => runtime.Store.Mail.ListMessagesAsync(inbox.Id, UidRange.All).GetAwaiter().GetResult().All(m => ContentKeyWrap.Describe(m.WrappedKey).Kind == ContentKeyWrap.KindFolder),
            "the re-wrap did not finish after the SEARCH");
    }
}
