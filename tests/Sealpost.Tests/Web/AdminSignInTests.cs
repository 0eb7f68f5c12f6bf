using System.Net;
using System.Security.Cryptography;
using System.Text;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>Administrator sign-in with password and TOTP, sessions and API tokens, against a real server over TLS.</summary>
public sealed class AdminSignInTests
{
    private const string Password = "sign-in-test-passphrase";

    [Fact]
    public async Task An_administrator_without_totp_gets_a_session_that_may_only_enrol()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        await server.Server.Runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "pa@example.test", Password, null, 0);
        await server.Server.Runtime.Directory.GrantRoleAsync(SealpostRuntime.LocalAdministrator, "pa@example.test", Role.PlatformAdmin);

        var (status, body) = await api.SignInAsync("pa@example.test", Password);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(body.GetProperty("secondFactorPassed").GetBoolean());
        var token = body.GetProperty("token").GetString()!;

        using var refused = await api.SendAsync(HttpMethod.Get, "/api/v1/accounts", token: token);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("second-factor-required", await refused.Content.ReadAsStringAsync());
        var me = await api.JsonAsync(HttpMethod.Get, "/api/v1/me", token: token);
        Assert.True(me.GetProperty("restricted").GetBoolean());
    }

    [Fact]
    public async Task Enrolment_gives_an_otpauth_uri_a_qr_code_and_recovery_codes_once()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await api.UserAsync("u@example.test", Password);
        var enrolment = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/totp", token: token);
        var uri = enrolment.GetProperty("uri").GetString()!;
        var secret = enrolment.GetProperty("secret").GetString()!;
        Assert.StartsWith("otpauth://totp/", uri);
        Assert.Contains("secret=" + secret, uri);
        Assert.Contains("issuer=", uri);
        Assert.Contains("<svg", enrolment.GetProperty("qrSvg").GetString());

        var confirmed = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/totp/confirm", new { code = ApiClient.CurrentCode(secret) }, token);
        Assert.Equal(10, confirmed.GetProperty("recoveryCodes").GetArrayLength());
        using var again = await api.SendAsync(HttpMethod.Post, "/api/v1/me/totp", token: token);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task A_wrong_confirmation_code_leaves_totp_unenrolled()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await api.UserAsync("u@example.test", Password);
        var enrolment = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/totp", token: token);
        var wrong = ApiClient.NextCode(enrolment.GetProperty("secret").GetString()!, 10);
        using var refused = await api.SendAsync(HttpMethod.Post, "/api/v1/me/totp/confirm", new { code = wrong }, token);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.False((await api.JsonAsync(HttpMethod.Get, "/api/v1/me", token: token)).GetProperty("secondFactorEnrolled").GetBoolean());
    }

    public static TheoryData<string, string> WrongSecondSteps() => new()
    {
        { "no code", "" },
        { "wrong code", "WRONG" },
        { "letters", "abcdef" },
    };

    [Theory]
    [MemberData(nameof(WrongSecondSteps))]
    public async Task After_enrolment_the_password_alone_or_a_wrong_code_is_refused(string _, string code)
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (_, secret, _) = await api.AdministratorAsync("pa@example.test", Password, Role.PlatformAdmin);
        var attempt = code == "WRONG" ? ApiClient.NextCode(secret, 20) : code;
        var (status, body) = await api.SignInAsync("pa@example.test", Password, attempt.Length == 0 ? null : attempt);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("https://sealpost.invalid/problems/sign-in-failed", body.GetProperty("type").GetString());
        var failures = await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Actor: "pa@example.test", Action: AuditAction.LoginFailed));
        Assert.Contains(failures, r => r.Event.Detail!.Contains("second factor", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_code_is_accepted_once_a_replay_within_its_window_is_refused()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (_, secret, _) = await api.AdministratorAsync("pa@example.test", Password, Role.PlatformAdmin);
        var code = ApiClient.NextCode(secret, 0);
        // The enrolment's sign-in used the next step; the current one is older, so it is refused too.
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.SignInAsync("pa@example.test", Password, code)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.SignInAsync("pa@example.test", Password, api.LastCode)).Status);
    }

    [Fact]
    public async Task A_recovery_code_signs_in_once_and_is_audited()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (_, _, codes) = await api.AdministratorAsync("pa@example.test", Password, Role.PlatformAdmin);
        var (first, _) = await api.SignInAsync("pa@example.test", Password, codes[3]);
        Assert.Equal(HttpStatusCode.OK, first);
        var (second, _) = await api.SignInAsync("pa@example.test", Password, codes[3]);
        Assert.Equal(HttpStatusCode.Unauthorized, second);
        Assert.Single(await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.RecoveryCodeUsed)));
    }

    [Fact]
    public async Task The_session_cookie_is_secure_http_only_and_same_site_strict_and_signs_requests_in()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/sign-in", new { address = "alice@example.test", password = "alice-dev-password" });
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("__Host-sealpost=sps_", cookie);
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.Https, "/api/v1/me"));
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var http = server.HttpClient(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(server.DevCertificateFile)));
        using var me = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
    }

    [Theory]
    [InlineData("https://evil.example", null, HttpStatusCode.Forbidden)]
    [InlineData(null, "cross-site", HttpStatusCode.Forbidden)]
    [InlineData(null, "same-origin", HttpStatusCode.Created)]
    [InlineData(null, null, HttpStatusCode.Created)]
    public async Task A_change_made_with_the_cookie_must_come_from_the_same_origin(string? origin, string? fetchSite, HttpStatusCode expected)
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (_, body) = await api.SignInAsync("alice@example.test", "alice-dev-password");
        var cookie = "__Host-sealpost=" + body.GetProperty("token").GetString();
        using var http = server.HttpClient(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(server.DevCertificateFile)));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Https, "/api/v1/me/app-passwords"))
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { label = "phone", password = "alice-dev-password" }),
        };
        request.Headers.Add("Cookie", cookie);
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Sign_out_ends_the_session_at_once()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (_, body) = await api.SignInAsync("alice@example.test", "alice-dev-password");
        var token = body.GetProperty("token").GetString()!;
        await api.JsonAsync(HttpMethod.Post, "/api/v1/sign-out", token: token, expected: HttpStatusCode.NoContent);
        using var after = await api.SendAsync(HttpMethod.Get, "/api/v1/me", token: token);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Failed_sign_ins_are_throttled_with_429_and_the_lockout_is_listed()
    {
        await using var server = await TestServer.StartAsync(o => o.Limits.MaxAuthFailuresPerAccount = 3);
        using var api = new ApiClient(server);
        var (admin, _, _) = await api.AdministratorAsync("pa@example.test", Password, Role.PlatformAdmin);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await api.SignInAsync("alice@example.test", "not-the-password")).Status);
        }

        using var throttled = await api.SendAsync(HttpMethod.Post, "/api/v1/sign-in", new { address = "alice@example.test", password = "alice-dev-password" });
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.True(throttled.Headers.RetryAfter is not null);
        var lockouts = await api.JsonAsync(HttpMethod.Get, "/api/v1/lockouts", token: admin);
        Assert.Contains(lockouts.GetProperty("items").EnumerateArray(), l => l.GetProperty("subject").GetString() == "alice@example.test");
        await api.JsonAsync(HttpMethod.Delete, "/api/v1/lockouts/alice%40example.test", token: admin, expected: HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.OK, (await api.SignInAsync("alice@example.test", "alice-dev-password")).Status);
    }

    [Fact]
    public async Task A_lockout_ends_by_itself_once_its_window_has_passed()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Limits.MaxAuthFailuresPerAccount = 3;
            o.Limits.AuthFailureWindowMinutes = 15;
        });
        var clock = new ManualTime(DateTimeOffset.UtcNow);
        server.Server.Runtime.LoginThrottle.Clock = clock;
        using var api = new ApiClient(server);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await api.SignInAsync("alice@example.test", "not-the-password")).Status);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await api.SignInAsync("alice@example.test", "alice-dev-password")).Status);
        clock.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await api.SignInAsync("alice@example.test", "alice-dev-password")).Status);

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, (await api.SignInAsync("alice@example.test", "alice-dev-password")).Status);
        // The same throttle stands behind every protocol: IMAP lets the owner in again too.
        await using var imap = await ImapRaw.ConnectAsync(server.Server.ImapEndpoint(Sealpost.Imap.ImapListenerKind.ImplicitTls), tls: true);
        await imap.GreetingAsync();
        Assert.StartsWith("a OK", (await imap.CommandAsync("a LOGIN alice@example.test alice-dev-password")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)[^1]);
    }

    [Fact]
    public async Task A_token_carries_only_the_roles_it_was_given()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (session, _, _) = await api.AdministratorAsync("pa@example.test", Password, Role.PlatformAdmin, Role.Auditor);
        var made = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/tokens", new { label = "audit export", roles = new[] { "auditor" }, expiresInDays = 30 }, session, HttpStatusCode.Created);
        var token = made.GetProperty("secret").GetString()!;
        Assert.StartsWith("spt_", token);

        await api.JsonAsync(HttpMethod.Get, "/api/v1/audit/head", token: token);
        using var refused = await api.SendAsync(HttpMethod.Post, "/api/v1/tenants", new { name = "finance" }, token);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var listed = await api.JsonAsync(HttpMethod.Get, "/api/v1/me/tokens", token: session);
        Assert.DoesNotContain("spt_", listed.ToString());
    }

    [Fact]
    public async Task A_revoked_token_stops_working_at_once()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (session, _, _) = await api.AdministratorAsync("op@example.test", Password, Role.Operator);
        var made = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/tokens", new { label = "monitoring", roles = new[] { "operator" } }, session, HttpStatusCode.Created);
        var token = made.GetProperty("secret").GetString()!;
        await api.JsonAsync(HttpMethod.Get, "/api/v1/queue", token: token);
        await api.JsonAsync(HttpMethod.Delete, $"/api/v1/me/tokens/{made.GetProperty("id").GetInt64()}", token: session, expected: HttpStatusCode.NoContent);
        using var after = await api.SendAsync(HttpMethod.Get, "/api/v1/queue", token: token);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task A_token_loses_a_role_its_account_loses()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (session, _, _) = await api.AdministratorAsync("op@example.test", Password, Role.Operator);
        var token = (await api.JsonAsync(HttpMethod.Post, "/api/v1/me/tokens", new { label = "monitoring", roles = new[] { "operator" } }, session, HttpStatusCode.Created)).GetProperty("secret").GetString()!;
        await server.Server.Runtime.Directory.RevokeRoleAsync(SealpostRuntime.LocalAdministrator, "op@example.test", Role.Operator);
        using var after = await api.SendAsync(HttpMethod.Get, "/api/v1/queue", token: token);
        Assert.Equal(HttpStatusCode.Forbidden, after.StatusCode);
    }

    public static TheoryData<string, object> RefusedTokenRequests() => new()
    {
        { "a role the maker does not hold", new { label = "x", roles = new[] { "platform-admin" } } },
        { "no role", new { label = "x", roles = Array.Empty<string>() } },
        { "too long a life", new { label = "x", roles = new[] { "operator" }, expiresInDays = 10_000 } },
        { "an empty label", new { label = " ", roles = new[] { "operator" } } },
    };

    [Theory]
    [MemberData(nameof(RefusedTokenRequests))]
    public async Task Token_requests_outside_the_rules_are_refused(string _, object request)
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (session, _, _) = await api.AdministratorAsync("op@example.test", Password, Role.Operator);
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/me/tokens", request, session);
        Assert.True((int)response.StatusCode is 403 or 422, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.DoesNotContain((await api.JsonAsync(HttpMethod.Get, "/api/v1/me/tokens", token: session)).EnumerateArray(), t => t.GetProperty("kind").GetString() == "token");
    }

    [Fact]
    public async Task A_token_cannot_make_another_token()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (session, _, _) = await api.AdministratorAsync("op@example.test", Password, Role.Operator);
        var token = (await api.JsonAsync(HttpMethod.Post, "/api/v1/me/tokens", new { label = "ci", roles = new[] { "operator" } }, session, HttpStatusCode.Created)).GetProperty("secret").GetString()!;
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/me/tokens", new { label = "child", roles = new[] { "operator" } }, token);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var runtime = server.Server.Runtime;
        var account = await runtime.Directory.RequireAccountAsync("alice@example.test");
        // A token whose expiry has passed, stored the way the server stores them (by keyed hash only).
        var secret = "spt_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var key = await runtime.Keystore.GetOrCreateSecretAsync(SealpostRuntime.ApiLookupSecretName, 32);
        await runtime.Store.Directory.CreateApiCredentialAsync(
            new NewApiCredential(account.Id, ApiCredentialKind.Token, "old", AccountRoles.User, true, HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(secret)), DateTimeOffset.UtcNow.AddMinutes(-1)),
            DateTimeOffset.UtcNow.AddDays(-2));
        using var response = await api.SendAsync(HttpMethod.Get, "/api/v1/me", token: secret);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_session_left_idle_ends_but_a_token_does_not()
    {
        await using var server = await TestServer.StartAsync(o => o.Http.SessionIdleMinutes = 30);
        using var api = new ApiClient(server);
        var session = await api.UserAsync("idle@example.test", Password);
        var token = (await api.JsonAsync(HttpMethod.Post, "/api/v1/me/tokens", new { label = "cron", roles = new[] { "user" } }, session, HttpStatusCode.Created)).GetProperty("secret").GetString()!;
        var account = await server.Server.Runtime.Directory.RequireAccountAsync("idle@example.test");
        // Both were last used 40 minutes ago, as the server notes it.
        foreach (var credential in await server.Server.Runtime.Store.Directory.ListApiCredentialsAsync(account.Id))
        {
            await server.Server.Runtime.Store.Directory.TouchApiCredentialAsync(credential.Id, DateTimeOffset.UtcNow.AddMinutes(-40));
        }

        using var idle = await api.SendAsync(HttpMethod.Get, "/api/v1/me", token: session);
        Assert.Equal(HttpStatusCode.Unauthorized, idle.StatusCode);
        await api.JsonAsync(HttpMethod.Get, "/api/v1/me", token: token);
    }

    [Fact]
    public async Task A_suspended_accounts_session_stops_working()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await api.UserAsync("leaver@example.test", Password);
        await server.Server.Runtime.Directory.SetStateAsync(SealpostRuntime.LocalAdministrator, "leaver@example.test", AccountState.Suspended);
        using var response = await api.SendAsync(HttpMethod.Get, "/api/v1/me", token: token);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task An_administrator_removes_a_lost_totp_and_the_owner_enrols_again()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (admin, _, _) = await api.AdministratorAsync("pa@example.test", Password, Role.PlatformAdmin);
        var (other, _, _) = await api.AdministratorAsync("da@example.test", Password, Role.DomainAdmin);
        await api.JsonAsync(HttpMethod.Delete, "/api/v1/accounts/da%40example.test/second-factor", token: admin, expected: HttpStatusCode.NoContent);
        using var ended = await api.SendAsync(HttpMethod.Get, "/api/v1/me", token: other);
        Assert.Equal(HttpStatusCode.Unauthorized, ended.StatusCode);
        var (status, body) = await api.SignInAsync("da@example.test", Password);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(body.GetProperty("secondFactorPassed").GetBoolean());
        Assert.Single(await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.SecondFactorRemoved)));
    }

    [Fact]
    public async Task A_token_limited_to_a_domain_reaches_only_that_domain()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var directory = server.Server.Runtime.Directory;
        await directory.AddTenantAsync(SealpostRuntime.LocalAdministrator, "health", null);
        await directory.AddDomainAsync(SealpostRuntime.LocalAdministrator, "clinic.test", "health");
        await directory.AddDomainAsync(SealpostRuntime.LocalAdministrator, "hospital.test", "health");
        await directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "nurse@hospital.test", Password, null, 0);
        var (session, _, _) = await api.AdministratorAsync("it@clinic.test", Password, Role.DomainAdmin);
        var made = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/tokens",
            new { label = "clinic provisioning", roles = new[] { "domain-admin" }, domains = new[] { "CLINIC.test" } }, session, HttpStatusCode.Created);
        Assert.Equal(["clinic.test"], made.GetProperty("domains").EnumerateArray().Select(d => d.GetString()!).ToArray());
        var token = made.GetProperty("secret").GetString()!;

        await api.JsonAsync(HttpMethod.Post, "/api/v1/accounts", new { address = "doctor@clinic.test", password = Password }, token, HttpStatusCode.Created);
        await api.JsonAsync(HttpMethod.Get, "/api/v1/accounts?domain=clinic.test", token: token);
        await api.JsonAsync(HttpMethod.Get, "/api/v1/me", token: token);
        foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
                 {
                     (HttpMethod.Post, "/api/v1/accounts", new { address = "porter@hospital.test", password = Password }),
                     (HttpMethod.Get, "/api/v1/accounts/nurse%40hospital.test", null),
                     (HttpMethod.Post, "/api/v1/accounts/nurse%40hospital.test/suspend", null),
                     (HttpMethod.Get, "/api/v1/accounts", null),
                     (HttpMethod.Get, "/api/v1/accounts?domain=hospital.test", null),
                     (HttpMethod.Get, "/api/v1/aliases", null),
                 })
        {
            using var refused = await api.SendAsync(method, path, body, token);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)refused.StatusCode}");
        }

        // The department's own session (not limited) still reaches both of its domains.
        await api.JsonAsync(HttpMethod.Get, "/api/v1/accounts/nurse%40hospital.test", token: session);
        Assert.Null(await server.Server.Runtime.Store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse("porter@hospital.test")));
    }

    [Fact]
    public async Task A_token_cannot_be_limited_to_a_domain_its_maker_does_not_administer()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var directory = server.Server.Runtime.Directory;
        await directory.AddTenantAsync(SealpostRuntime.LocalAdministrator, "health", null);
        await directory.AddDomainAsync(SealpostRuntime.LocalAdministrator, "clinic.test", "health");
        var (session, _, _) = await api.AdministratorAsync("it@clinic.test", Password, Role.DomainAdmin);
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/me/tokens",
            new { label = "x", roles = new[] { "domain-admin" }, domains = new[] { "example.test" } }, session);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
