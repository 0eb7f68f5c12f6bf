using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Crypto.Vault;
using Sealpost.Imap;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// A server whose trust anchor the officers made: mail for an account whose first key version nobody
/// has endorsed is deferred (a 4xx the sending MTA retries), and accepted and readable once an
/// administrator has requested and a different officer approved it. Real SMTP and IMAP clients.
/// </summary>
public sealed class TwoPersonEndorsementTests : IAsyncLifetime
{
    private const string Carol = "carol@example.test";
    private const string Password = "carol's own passphrase";
    private TempFolder _keys = null!;
    private TestOfficers _officers = null!;
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _keys = new TempFolder("sealpost-officers");
        _officers = TestOfficers.Create(_keys.Path);
        _server = await TestServer.StartAsync(officers: _officers, prepare: runtime =>
            runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, Carol, Password, null, 0));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _keys.Dispose();
    }

    private Task SendAsync(string subject) => _server.SendInboundAsync(Carol, subject);

    private Task EndorseAsync(string keyFile, EndorsementKind kind) => TestOfficers.EndorseAsync(_server.Server.Runtime, Carol, 1, keyFile, kind);

    [Fact]
    public async Task Mail_for_an_unendorsed_account_is_deferred_with_a_temporary_error()
    {
        var deferred = await Assert.ThrowsAsync<SmtpCommandException>(() => SendAsync("before"));
        Assert.InRange((int)deferred.StatusCode, 400, 499);
    }

    [Fact]
    public async Task Mail_is_accepted_and_read_once_two_people_endorsed_the_key()
    {
        await EndorseAsync(_officers.DanKey, EndorsementKind.Requester);
        await Assert.ThrowsAsync<SmtpCommandException>(() => SendAsync("requested only"));
        await EndorseAsync(_officers.BobKey, EndorsementKind.Approver);
        await SendAsync("after approval");

        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync(Carol, Password);
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var subjects = (await imap.Inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Envelope))).Select(m => m.Envelope!.Subject).ToList();
        Assert.Equal(["after approval"], subjects);
    }
}
