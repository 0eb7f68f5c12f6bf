using System.Net;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using Sealpost.Core.Audit;
using Sealpost.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// A person looks after their own credentials over the API, never on an operator's terminal: the
/// change takes effect on IMAP and SMTP at once, and no secret reaches storage or logs.
/// </summary>
public sealed class SelfServiceTests
{
    private const string Old = "alice-dev-password";
    private const string New = "a-brand-new-passphrase-for-alice";

    /// <summary>Whether an IMAP login over implicit TLS (MailKit) with this secret succeeds.</summary>
    internal static async Task<bool> ImapLoginAsync(TestServer server, string user, string secret)
    {
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        try
        {
            await client.AuthenticateAsync(new SaslMechanismPlain(user, secret));
            return true;
        }
        catch (AuthenticationException)
        {
            return false;
        }
    }

    private static async Task<bool> SmtpLoginAsync(TestServer server, string user, string secret)
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.SubmissionImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        try
        {
            await client.AuthenticateAsync(new SaslMechanismPlain(user, secret));
            return true;
        }
        catch (AuthenticationException)
        {
            return false;
        }
    }

    private static async Task<string> SignInAsync(ApiClient api, string password = Old)
    {
        var (status, body) = await api.SignInAsync("alice@example.test", password);
        Assert.Equal(HttpStatusCode.OK, status);
        return body.GetProperty("token").GetString()!;
    }

    [Fact]
    public async Task A_password_changed_over_the_api_works_at_once_on_imap_and_smtp_and_the_old_one_stops()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        await api.JsonAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = Old, newPassword = New }, token, HttpStatusCode.NoContent);

        Assert.False(await ImapLoginAsync(server, "alice@example.test", Old));
        Assert.False(await SmtpLoginAsync(server, "alice@example.test", Old));
        Assert.True(await ImapLoginAsync(server, "alice@example.test", New));
        Assert.True(await SmtpLoginAsync(server, "alice@example.test", New));
        using var ended = await api.SendAsync(HttpMethod.Get, "/api/v1/me", token: token);
        Assert.Equal(HttpStatusCode.Unauthorized, ended.StatusCode);
    }

    /// <summary>
    /// The dev seed set alice's password, so it is provisional: her own first change makes key
    /// version 2, recorded with its fingerprint, and the mail from before still reads with the new password.
    /// </summary>
    [Fact]
    public async Task The_owners_first_change_over_the_api_makes_a_new_key_version_and_earlier_mail_still_reads()
    {
        await using var server = await TestServer.StartAsync();
        await server.SendAsAliceAsync("Sent before the change", "alice@example.test");
        await InboxCountAsync(server, Old, atLeast: 1);
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        await api.JsonAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = Old, newPassword = New }, token, HttpStatusCode.NoContent);

        var versions = await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.KeyVersionCreated, Target: "alice@example.test"));
        Assert.Contains(versions, r => r.Event.Detail?.StartsWith("v2 sha256:", StringComparison.Ordinal) == true);
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", New);
        await client.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
        Assert.Contains(await client.Inbox.FetchAsync(0, -1, new MailKit.FetchRequest(MailKit.MessageSummaryItems.Envelope)), m => m.Envelope?.Subject == "Sent before the change");
    }

    /// <summary>RFC 8265: a password set with a composed é logs in over IMAP typed with e + combining acute.</summary>
    [Fact]
    public async Task A_password_set_in_one_unicode_form_logs_in_over_imap_typed_in_the_other()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        await api.JsonAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = Old, newPassword = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e" }, token, HttpStatusCode.NoContent);
        Assert.True(await ImapLoginAsync(server, "alice@example.test", "cafe\u0301 cre\u0300me bru\u0302le\u0301e"));
    }

    private static async Task InboxCountAsync(TestServer server, string password, int atLeast)
    {
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", password);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            await client.Inbox.StatusAsync(MailKit.StatusItems.Count);
            if (client.Inbox.Count >= atLeast)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "the message never reached the inbox");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_wrong_current_password_changes_nothing()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        using var response = await api.SendAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = "not-it-at-all", newPassword = New }, token);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.True(await ImapLoginAsync(server, "alice@example.test", Old));
    }

    public static TheoryData<string> ListedPasswords() => ["password1", "Welcome2024!", "qwertyuiop", "aaaaaaaaaaaa", "12345678901", "Sunshine!!"];

    [Theory]
    [MemberData(nameof(ListedPasswords))]
    public async Task A_common_password_is_refused_with_a_message_naming_the_field(string listed)
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        using var response = await api.SendAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = Old, newPassword = listed }, token);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("\"newPassword\"", body);
        Assert.Contains("choose a longer phrase", body);
        Assert.True(await ImapLoginAsync(server, "alice@example.test", Old));
    }

    [Fact]
    public async Task App_passwords_are_made_listed_and_revoked_one_by_one_and_a_revoked_one_stops_at_once()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        var phone = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/app-passwords", new { label = "phone", password = Old }, token, HttpStatusCode.Created);
        var laptop = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/app-passwords", new { label = "laptop", password = Old }, token, HttpStatusCode.Created);
        var phoneSecret = phone.GetProperty("secret").GetString()!;
        var laptopSecret = laptop.GetProperty("secret").GetString()!;
        Assert.True(await ImapLoginAsync(server, "alice@example.test", phoneSecret));
        Assert.True(await SmtpLoginAsync(server, "alice@example.test", phoneSecret));

        var listed = await api.JsonAsync(HttpMethod.Get, "/api/v1/me/app-passwords", token: token);
        Assert.Equal(["phone", "laptop"], listed.EnumerateArray().Select(a => a.GetProperty("label").GetString()!).ToArray());
        Assert.True(listed[0].TryGetProperty("lastUsedAt", out _), "the phone's app password was used and says so");
        Assert.False(listed[1].TryGetProperty("lastUsedAt", out _), "the laptop's was never used");
        Assert.DoesNotContain(phoneSecret, listed.ToString());

        await api.JsonAsync(HttpMethod.Delete, $"/api/v1/me/app-passwords/{phone.GetProperty("id").GetInt64()}", token: token, expected: HttpStatusCode.NoContent);
        Assert.False(await ImapLoginAsync(server, "alice@example.test", phoneSecret));
        Assert.False(await SmtpLoginAsync(server, "alice@example.test", phoneSecret));
        Assert.True(await ImapLoginAsync(server, "alice@example.test", laptopSecret));
        Assert.Single(await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.AppPasswordRevoked)));
    }

    [Fact]
    public async Task An_app_password_needs_the_owners_password()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/me/app-passwords", new { label = "phone", password = "a-guess-at-it" }, token);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Recent_logins_show_the_owners_own_imap_and_api_logins()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        Assert.False(await ImapLoginAsync(server, "alice@example.test", "wrong-one"));
        Assert.True(await ImapLoginAsync(server, "alice@example.test", Old));
        Assert.True(await ImapLoginAsync(server, "bob@example.test", "bob-dev-password"));
        var token = await SignInAsync(api);
        var logins = (await api.JsonAsync(HttpMethod.Get, "/api/v1/me/logins", token: token)).EnumerateArray().ToList();
        Assert.Equal(3, logins.Count);
        Assert.Equal("api", logins[0].GetProperty("protocol").GetString());
        Assert.Contains(logins, l => l.GetProperty("outcome").GetString() == "LoginFailed" && l.GetProperty("protocol").GetString() == "imap");
    }

    [Fact]
    public async Task No_password_app_password_or_session_secret_reaches_the_data_folder_or_the_logs()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var token = await SignInAsync(api);
        var app = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/app-passwords", new { label = "phone", password = Old }, token, HttpStatusCode.Created);
        var made = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/tokens", new { label = "script", roles = new[] { "user" } }, token, HttpStatusCode.Created);
        await api.JsonAsync(HttpMethod.Post, "/api/v1/me/totp", token: token);
        await api.JsonAsync(HttpMethod.Put, "/api/v1/me/password", new { currentPassword = Old, newPassword = New }, token, HttpStatusCode.NoContent);

        var secrets = new[] { New, app.GetProperty("secret").GetString()!, made.GetProperty("secret").GetString()!, token };
        var scanner = new MarkerScanner(secrets);
        var hits = scanner.ScanTree(server.Server.Runtime.Options.DataDirectory).ToList();
        hits.AddRange(scanner.Scan("server log", System.Text.Encoding.UTF8.GetBytes(server.Logs.ToString())));
        Assert.Empty(hits);
    }
}
