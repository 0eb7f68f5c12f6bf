using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using Sealpost.Core.Addressing;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>COPY and MOVE with a real client: the copy's content key lands under its new folder's key, and it reads.</summary>
public sealed class FolderKeyImapTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private ImapClient _imap = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        _imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await _imap.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await _imap.AuthenticateAsync("alice@example.test", "alice-dev-password");
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("x@remote.example"));
        message.To.Add(MailboxAddress.Parse("alice@example.test"));
        message.Subject = "to be filed";
        message.Body = new TextPart("plain") { Text = "filed under the folder's own key" };
        await _imap.Inbox.AppendAsync(message);
        await _imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
        await _imap.Inbox.GetMessageAsync(0); // the first read puts it under the inbox's key
        await _imap.GetFolder(_imap.PersonalNamespaces[0]).CreateAsync("Filed", true);
    }

    public async Task DisposeAsync()
    {
        await _imap.DisconnectAsync(true);
        _imap.Dispose();
        await _server.DisposeAsync();
    }

    /// <summary>The folder id every wrap in the mailbox with role/name is under.</summary>
    private async Task<(long MailboxId, IReadOnlyList<long?> Folders)> WrapsOfFiledAsync()
    {
        var runtime = _server.Server.Runtime;
        var alice = (await runtime.Store.Directory.FindAccountAsync(MailAddress.Parse("alice@example.test")))!;
        var filed = (await runtime.Store.Mail.ListMailboxesAsync(alice.Id)).Single(m => m.Role == MailboxRole.None && m.MessageCount > 0);
        var rows = await runtime.Store.Mail.ListMessagesAsync(filed.Id, UidRange.All);
        return (filed.Id, rows.Select(r => ContentKeyWrap.FolderOf(r.WrappedKey)).ToList());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_copied_or_moved_message_is_under_its_new_folders_key_and_reads(bool move)
    {
        var filed = _imap.GetFolder("Filed");
        if (move)
        {
            await _imap.Inbox.MoveToAsync(0, filed);
        }
        else
        {
            await _imap.Inbox.CopyToAsync(0, filed);
        }

        var (mailboxId, folders) = await WrapsOfFiledAsync();
        Assert.Equal([mailboxId], folders);
        await filed.OpenAsync(FolderAccess.ReadOnly);
        Assert.Contains("filed under the folder's own key", (await filed.GetMessageAsync(0)).TextBody);
    }
}
