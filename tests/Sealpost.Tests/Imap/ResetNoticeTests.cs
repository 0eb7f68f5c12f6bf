using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Sealpost.Core.Access;
using Sealpost.Imap;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// A reset is told to the owner at their login by a channel the resetter cannot erase: an IMAP ALERT
/// (RFC 9051 §7.1) built from the audit trail, not only the notice message in the mailbox, which
/// whoever holds the reset password can expunge.
/// </summary>
public sealed class ResetNoticeTests : IAsyncLifetime
{
    private const string Reset = "a reset passphrase here";
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await _server.Server.Runtime.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", Reset, null);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Logs in and returns the ALERT texts the server sent.</summary>
    private async Task<List<string>> AlertsAtLoginAsync(string password, Func<ImapClient, Task>? then = null, string user = "alice@example.test")
    {
        var alerts = new List<string>();
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        client.Alert += (_, e) => alerts.Add(e.Message);
        await client.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(user, password);
        await (then?.Invoke(client) ?? Task.CompletedTask);
        await client.DisconnectAsync(true);
        return alerts;
    }

    [Fact]
    public async Task The_first_login_after_a_reset_alerts_who_reset_it_and_when()
    {
        var alert = Assert.Single(await AlertsAtLoginAsync(Reset));
        Assert.Contains("Your password was reset by " + SealpostRuntime.LocalAdministrator.Name, alert);
    }

    [Fact]
    public async Task The_alert_survives_the_expunge_of_the_notice_in_the_mailbox()
    {
        await AlertsAtLoginAsync(Reset, async client =>
        {
            await client.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await client.Inbox.AddFlagsAsync(new MailKit.UniqueIdRange(MailKit.UniqueId.MinValue, MailKit.UniqueId.MaxValue), MessageFlags.Deleted, true);
            await client.Inbox.ExpungeAsync();
            Assert.Equal(0, client.Inbox.Count);
        });
        Assert.Single(await AlertsAtLoginAsync(Reset));
    }

    [Fact]
    public async Task Once_the_owner_chose_their_own_password_there_is_no_alert()
    {
        var alice = (await _server.Server.Runtime.Store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse("alice@example.test")))!;
        var domain = (await _server.Server.Runtime.Store.Directory.FindDomainAsync(Sealpost.Core.Addressing.DomainName.Parse("example.test")))!;
        await _server.Server.Runtime.Directory.SetPasswordAsync(Actor.ForAccount(alice, domain.TenantId, "api", "127.0.0.1"), "alice@example.test", "alice's very own passphrase", Reset);
        Assert.Empty(await AlertsAtLoginAsync("alice's very own passphrase"));
    }

    [Fact]
    public async Task A_password_an_administrator_set_at_creation_brings_no_alert() =>
        Assert.Empty(await AlertsAtLoginAsync("bob-dev-password", user: "bob@example.test"));
}
