using System.Net;
using Sealpost.Core;
using Sealpost.Core.Audit;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// The owner's address for security notices, outside the mail system: set by the owner alone over the
/// API, and a reset is told there by real mail through the outbound queue (a channel the resetting
/// administrator can neither read nor expunge), besides the notice in the inbox.
/// </summary>
public sealed class NotifyAddressTests : IAsyncLifetime
{
    private const string Alice = "alice@example.test";
    private const string Home = "alice.private@home.test";
    private SmtpReceiver _receiver = null!;
    private DnsServer _dns = null!;
    private TestServer _server = null!;
    private ApiClient _api = null!;

    public async Task InitializeAsync()
    {
        _receiver = await SmtpReceiver.StartAsync();
        _dns = await DnsServer.StartAsync("--mx-host=home.test,mx.home.test,10", "--host-record=mx.home.test,127.0.0.1");
        _server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(_dns.EndPoint.ToString());
            o.Delivery.TestMxPort = _receiver.Port;
            o.Delivery.PollSeconds = 1;
        });
        _api = new ApiClient(_server);
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _server.DisposeAsync();
        _receiver.Dispose();
        _dns.Dispose();
    }

    private async Task<string> SignInAsync()
    {
        var (status, body) = await _api.SignInAsync(Alice, "alice-dev-password");
        Assert.Equal(HttpStatusCode.OK, status);
        return body.GetProperty("token").GetString()!;
    }

    [Fact]
    public async Task A_reset_is_told_at_the_owners_notify_address()
    {
        var token = await SignInAsync();
        await _api.JsonAsync(HttpMethod.Put, "/api/v1/me/notify-address", new { address = Home }, token, HttpStatusCode.NoContent);
        await _server.Server.Runtime.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, Alice, "a reset passphrase here", null);

        var notice = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal("The password of alice@example.test was reset", notice.Subject);
        Assert.Equal(Home, notice.To.Mailboxes.Single().Address);
        Assert.Contains("was reset by " + SealpostRuntime.LocalAdministrator.Name, notice.TextBody);
    }

    [Fact]
    public async Task Without_a_notify_address_a_reset_sends_nothing_out()
    {
        await _server.Server.Runtime.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, Alice, "a reset passphrase here", null);
        Assert.Empty(await _server.Server.Runtime.Queue.ListAsync(SealpostRuntime.LocalAdministrator, CancellationToken.None));
        Assert.Empty(_receiver.Messages);
    }

    [Fact]
    public async Task An_address_in_our_own_domains_is_refused()
    {
        var token = await SignInAsync();
        var body = await _api.JsonAsync(HttpMethod.Put, "/api/v1/me/notify-address", new { address = "bob@example.test" }, token, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("outside this mail system", body.ToString());
    }

    [Fact]
    public async Task An_administrator_cannot_set_another_persons_notify_address()
    {
        var refused = await Assert.ThrowsAsync<SealpostException>(() => _server.Server.Runtime.Directory.SetNotifyAddressAsync(SealpostRuntime.LocalAdministrator, Alice, "attacker@evil.test"));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
    }

    [Fact]
    public async Task Setting_it_is_audited_with_the_domain_only()
    {
        var token = await SignInAsync();
        await _api.JsonAsync(HttpMethod.Put, "/api/v1/me/notify-address", new { address = Home }, token, HttpStatusCode.NoContent);
        var record = Assert.Single(await _server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.NotifyAddressChanged)));
        Assert.Equal("set to an address at home.test", record.Event.Detail);
    }
}
