using System.Net;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// An administrator creates an account for enrolment over the API; the person redeems the one-time token
/// with a password of their own (POST /api/v1/enrol, no sign-in) and reads, over IMAP, the mail that came before.
/// </summary>
public sealed class EnrolmentApiTests
{
    private const string Carol = "carol@example.test";
    private const string Own = "carol's own long passphrase";

    private static async Task<(TestServer Server, ApiClient Api, string Admin)> StartAsync(Action<Sealpost.Core.Configuration.SealpostOptions>? configure = null)
    {
        var server = await TestServer.StartAsync(configure);
        var api = new ApiClient(server);
        var (admin, _, _) = await api.AdministratorAsync("pa@example.test", "enrolment-admin-passphrase", Role.PlatformAdmin);
        return (server, api, admin);
    }

    private static async Task<string> CreateAsync(ApiClient api, string admin)
    {
        var created = await api.JsonAsync(HttpMethod.Post, "/api/v1/accounts", new { address = Carol, enrol = true }, admin, HttpStatusCode.Created);
        return created.GetProperty("enrolment").GetProperty("token").GetString()!;
    }

    private static Task<HttpResponseMessage> RedeemAsync(ApiClient api, string token, string password = Own, string address = Carol) =>
        api.SendAsync(HttpMethod.Post, "/api/v1/enrol", new { address, token, password });

    [Fact]
    public async Task Creation_answers_with_a_token_once_and_the_account_never_shows_it_again()
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var created = await api.JsonAsync(HttpMethod.Post, "/api/v1/accounts", new { address = Carol, enrol = true }, admin, HttpStatusCode.Created);
        var token = created.GetProperty("enrolment").GetProperty("token").GetString()!;
        Assert.Matches("^([A-Z2-7]{4}-){9}[A-Z2-7]{4}$", token); // 200 bits
        Assert.True(created.GetProperty("enrolment").GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(13));

        var shown = await api.JsonAsync(HttpMethod.Get, "/api/v1/accounts/" + Carol, token: admin);
        Assert.False(shown.TryGetProperty("enrolment", out _));
        var scanner = new MarkerScanner([token, token.Replace("-", "")]);
        Assert.Empty(scanner.ScanTree(server.Server.Runtime.Options.DataDirectory));
        Assert.Empty(scanner.Scan("server log", System.Text.Encoding.UTF8.GetBytes(server.Logs.ToString())));
    }

    [Fact]
    public async Task Mail_delivered_before_enrolment_reads_over_imap_with_the_password_chosen_at_enrolment()
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var token = await CreateAsync(api, admin);
        await server.SendAsAliceAsync("Welcome before you enrolled", Carol);

        using var redeemed = await RedeemAsync(api, token);
        Assert.Equal(HttpStatusCode.OK, redeemed.StatusCode);

        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(Carol, Own);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (client.Inbox.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the message never reached the inbox");
            await client.NoOpAsync();
        }

        Assert.Contains(await client.Inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Envelope)), m => m.Envelope?.Subject == "Welcome before you enrolled");
    }

    [Fact]
    public async Task The_first_sign_in_after_enrolment_says_when_and_from_where()
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var token = await CreateAsync(api, admin);
        using (var redeemed = await RedeemAsync(api, token))
        {
            Assert.Equal(HttpStatusCode.OK, redeemed.StatusCode);
        }

        var (status, body) = await api.SignInAsync(Carol, Own);
        Assert.Equal(HttpStatusCode.OK, status);
        var me = await api.JsonAsync(HttpMethod.Get, "/api/v1/me", token: body.GetProperty("token").GetString());
        Assert.Equal("127.0.0.1", me.GetProperty("enrolledFrom").GetString());
        Assert.InRange(me.GetProperty("enrolledAt").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task The_token_is_no_password()
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var token = await CreateAsync(api, admin);
        Assert.False(await SelfServiceTests.ImapLoginAsync(server, Carol, token));
        var (status, _) = await api.SignInAsync(Carol, token);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task A_used_token_tells_the_person_when_and_from_where_and_to_report_it()
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var token = await CreateAsync(api, admin);
        (await RedeemAsync(api, token)).Dispose();

        using var again = await RedeemAsync(api, token, "someone else's passphrase");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var detail = await again.Content.ReadAsStringAsync();
        Assert.Contains("already used", detail);
        Assert.Contains("from 127.0.0.1", detail);
        Assert.Contains("report it", detail);
        Assert.False(await SelfServiceTests.ImapLoginAsync(server, Carol, "someone else's passphrase"));
        Assert.True(await SelfServiceTests.ImapLoginAsync(server, Carol, Own));
        var records = await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.AccountEnrolled, Target: Carol));
        Assert.Equal([AuditOutcome.Success, AuditOutcome.Failure], records.Select(r => r.Event.Outcome).ToArray());
        Assert.Contains("[1014]", server.Logs.ToString());
    }

    public static TheoryData<string, string> WrongCases => new()
    {
        { "wrong token", Carol },
        { "unknown address", "nobody@example.test" },
        { "malformed address", "not an address" },
    };

    [Theory]
    [MemberData(nameof(WrongCases))]
    public async Task A_wrong_token_and_an_unknown_address_get_the_same_answer(string @case, string address)
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var token = await CreateAsync(api, admin);
        var offered = @case == "wrong token" ? string.Concat(token.Reverse()) : token;
        using var response = await RedeemAsync(api, offered, address: address);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("the enrolment token is wrong", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_expired_token_is_refused_and_says_whom_to_ask()
    {
        var (server, api, admin) = await StartAsync(o => o.Vault.EnrolmentTokenHours = 0);
        await using var ownedServer = server;
        using var ownedApi = api;
        var token = await CreateAsync(api, admin);
        using var response = await RedeemAsync(api, token);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("expired; ask your administrator", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_weak_password_is_refused_on_its_field_and_the_token_stays_good()
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var token = await CreateAsync(api, admin);
        using (var weak = await RedeemAsync(api, token, "short"))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, weak.StatusCode);
            Assert.Contains("\"password\"", await weak.Content.ReadAsStringAsync());
        }

        using var good = await RedeemAsync(api, token);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    /// <summary>A reset in which the administrator never knows a password: the owner enrols again with the token.</summary>
    [Fact]
    public async Task A_reset_to_enrolment_gives_a_token_the_old_password_stops_and_the_owner_reads_the_notice()
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        var reset = await api.JsonAsync(HttpMethod.Post, "/api/v1/accounts/alice%40example.test/password-reset", new { enrol = true }, admin);
        var token = reset.GetProperty("token").GetString()!;
        Assert.False(await SelfServiceTests.ImapLoginAsync(server, "alice@example.test", "alice-dev-password"));
        Assert.False(await SelfServiceTests.ImapLoginAsync(server, "alice@example.test", token));

        using (var redeemed = await RedeemAsync(api, token, address: "alice@example.test"))
        {
            Assert.Equal(HttpStatusCode.OK, redeemed.StatusCode);
        }

        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", Own);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.Contains(await client.Inbox.FetchAsync(0, -1, new FetchRequest(MessageSummaryItems.Envelope)), m => m.Envelope?.Subject == "Your mail password was reset");
        var records = await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.PasswordReset, Target: "alice@example.test"));
        Assert.Contains(records, r => r.Event.Detail?.StartsWith("enrolment token issued", StringComparison.Ordinal) == true);
    }

    public static TheoryData<string> BadResets => new()
    {
        "{}",
        """{"newPassword":"a fine long passphrase","enrol":true}""",
    };

    [Theory]
    [MemberData(nameof(BadResets))]
    public async Task A_reset_needs_a_password_or_enrolment_but_not_both(string body)
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/accounts/alice%40example.test/password-reset", token: admin, rawBody: body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("\"newPassword\"", await response.Content.ReadAsStringAsync());
    }

    public static TheoryData<string> BadCreations => new()
    {
        """{"address":"dave@example.test"}""",
        """{"address":"dave@example.test","password":"a fine long passphrase","enrol":true}""",
    };

    [Theory]
    [MemberData(nameof(BadCreations))]
    public async Task Creation_needs_a_password_or_enrolment_but_not_both(string body)
    {
        var (server, api, admin) = await StartAsync();
        await using var ownedServer = server;
        using var ownedApi = api;
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/accounts", token: admin, rawBody: body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("\"password\"", await response.Content.ReadAsStringAsync());
    }
}
