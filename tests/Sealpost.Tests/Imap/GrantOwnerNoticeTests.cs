using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Sealpost.Crypto.Vault;
using Sealpost.Imap;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>Where the organisation's policy says so (<c>Vault:TellOwnersOfGrants</c>), the owner finds a notice of an active grant in their inbox.</summary>
public sealed class GrantOwnerNoticeTests : IAsyncLifetime
{
    private const string Carol = "carol@example.test";
    private const string Greg = "greg@example.test";
    private TempFolder _keys = null!;
    private TestOfficers _officers = null!;
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _keys = new TempFolder("sealpost-grant-notice");
        _officers = TestOfficers.Create(_keys.Path);
        _server = await TestServer.StartAsync(configure: o => o.Vault.TellOwnersOfGrants = true, officers: _officers, prepare: async runtime =>
        {
            await runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, Carol, "carol's own passphrase", null, 0);
            await runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, Greg, "greg's own passphrase", null, 0);
        });
        foreach (var address in new[] { Carol, Greg })
        {
            await TestOfficers.EndorseAsync(_server.Server.Runtime, address, 1, _officers.DanKey, EndorsementKind.Requester);
            await TestOfficers.EndorseAsync(_server.Server.Runtime, address, 1, _officers.BobKey, EndorsementKind.Approver);
        }
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _keys.Dispose();
    }

    [Fact]
    public async Task The_owner_finds_who_reads_and_until_when_in_their_inbox()
    {
        await _officers.ActivateGrantAsync(_server.Server.Runtime, Greg, Carol, TimeSpan.FromHours(2));
        using var owner = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await owner.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await owner.AuthenticateAsync(Carol, "carol's own passphrase");
        await owner.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var notice = await owner.Inbox.GetMessageAsync(0);
        Assert.Equal("Someone was granted access to your mailbox", notice.Subject);
        Assert.Contains(Greg + " may read the mail in this mailbox, read-only", notice.TextBody);
    }
}
