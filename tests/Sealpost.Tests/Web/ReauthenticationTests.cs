using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Domain.Administration;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// Re-authentication before a sensitive action (the console's resets, role changes and hand-ins): the
/// signed-in person's password and a fresh TOTP code, counted and audited as a login; a replayed code or
/// a recovery code does not pass.
/// </summary>
public sealed class ReauthenticationTests : IAsyncLifetime
{
    private const string Password = "a re-authenticating administrator's passphrase";
    private TestServer _server = null!;
    private ApiClient _api = null!;
    private ApiPrincipal _principal = null!;
    private string _secret = null!;
    private string[] _recoveryCodes = null!;

    private AdminAccessService Access => _server.Server.Runtime.AdminAccess;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        _api = new ApiClient(_server);
        string token;
        (token, _secret, _recoveryCodes) = await _api.AdministratorAsync("reauth@example.test", Password, -1, 0, Role.PlatformAdmin);
        _principal = (await Access.AuthenticateAsync(token, "127.0.0.1", "test"))!;
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<IReadOnlyList<AuditRecord>> FailuresAsync() =>
        await _server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.LoginFailed, Target: "reauth@example.test"), default);

    [Fact]
    public async Task The_password_and_a_fresh_code_pass()
    {
        await Access.ConfirmPresenceAsync(_principal, Password, ApiClient.NextCode(_secret));
    }

    [Fact]
    public async Task A_wrong_password_is_refused_and_recorded_as_a_failed_login()
    {
        var before = (await FailuresAsync()).Count;
        var refused = await Assert.ThrowsAsync<SealpostException>(() => Access.ConfirmPresenceAsync(_principal, "not the passphrase", ApiClient.NextCode(_secret)));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
        Assert.Equal(before + 1, (await FailuresAsync()).Count);
    }

    [Fact]
    public async Task The_code_the_sign_in_used_is_refused()
    {
        var refused = await Assert.ThrowsAsync<SealpostException>(() => Access.ConfirmPresenceAsync(_principal, Password, _api.LastCode));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
    }

    [Fact]
    public async Task No_code_is_refused_for_someone_who_enrolled_one()
    {
        var refused = await Assert.ThrowsAsync<SealpostException>(() => Access.ConfirmPresenceAsync(_principal, Password, null));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
    }

    [Fact]
    public async Task A_recovery_code_is_not_a_re_authentication()
    {
        var refused = await Assert.ThrowsAsync<SealpostException>(() => Access.ConfirmPresenceAsync(_principal, Password, _recoveryCodes[0]));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
    }
}
