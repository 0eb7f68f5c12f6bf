using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using Sealpost.Core.Directory;
using Sealpost.Imap;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// An IMAP session opened before a suspension, a reset or a password change does not go on (the review
/// saw a suspended account's open session still fetch a subject): its next command gets BYE [EXPIRED].
/// </summary>
public sealed class SessionStandingTests
{
    public static TheoryData<string> Changes => new() { "suspension", "reset", "password change" };

    private static async Task ChangeAliceAsync(TestServer server, string change)
    {
        var directory = server.Server.Runtime.Directory;
        switch (change)
        {
            case "suspension":
                await directory.SetStateAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", AccountState.Suspended);
                break;
            case "reset":
                await directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "a reset passphrase here", null);
                break;
            default:
                await directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "a changed passphrase here", "alice-dev-password");
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task A_session_opened_before_the_change_is_ended_at_its_next_command(string change)
    {
        await using var server = await TestServer.StartAsync();
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);

        await ChangeAliceAsync(server, change);

        // The check runs at most once a second per session: commands go on until it does, then BYE.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        Exception? ended = null;
        while (ended is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the session was never ended");
            try
            {
                await client.NoOpAsync(); // always a round trip (a FETCH of an empty mailbox sends nothing)
            }
            catch (Exception ex) when (ex is ImapProtocolException or ServiceNotConnectedException or IOException)
            {
                ended = ex;
            }
        }

        Assert.False(client.IsConnected);
    }

    /// <summary>
    /// A session sitting in IDLE sends no command: the change feed wakes it when the account changes (on
    /// any node), and it ends then, without waiting for the client.
    /// </summary>
    [Theory]
    [MemberData(nameof(Changes))]
    public async Task An_idle_session_is_ended_when_the_change_happens(string change)
    {
        await using var server = await TestServer.StartAsync();
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        using var done = new CancellationTokenSource();
        var idle = client.IdleAsync(done.Token);
        await ChangeAliceAsync(server, change); // before or after the server's "+ idling": either way the feed holds it

        var ended = await Task.WhenAny(idle, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(ended == idle, "the idle session was not ended");
        await Assert.ThrowsAnyAsync<Exception>(() => idle);
        Assert.False(client.IsConnected);
    }

    /// <summary>A submission session waiting for its next command hears the change on the feed and is closed with 421 at once.</summary>
    [Theory]
    [MemberData(nameof(Changes))]
    public async Task A_waiting_submission_session_is_closed_when_the_change_happens(string change)
    {
        await using var server = await TestServer.StartAsync(o => o.Smtp.AllowPlaintextAuthOnLoopback = true);
        await using var smtp = await SmtpRaw.ConnectAsync(server.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.Submission));
        await smtp.ReplyAsync(); // 220
        await smtp.CommandAsync("EHLO client.example");
        var auth = await smtp.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("\0alice@example.test\0alice-dev-password")));
        Assert.StartsWith("235", auth);

        await ChangeAliceAsync(server, change);

        Assert.StartsWith("421 4.7.0", await smtp.ReplyAsync()); // unsolicited: the client sent nothing
        Assert.True(await smtp.ClosedAsync());
    }

    /// <summary>Submission too: the next transaction of a session opened before the change gets 421 and the connection closes.</summary>
    [Theory]
    [MemberData(nameof(Changes))]
    public async Task A_submission_session_opened_before_the_change_is_closed_at_its_next_message(string change)
    {
        await using var server = await TestServer.StartAsync();
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.SubmissionImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await client.SendAsync(Submitter.Message("before the change", "bob@example.test"));

        await ChangeAliceAsync(server, change);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync(Submitter.Message("after the change", "bob@example.test")));
        Assert.True(refused is SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable } or SmtpProtocolException or ServiceNotConnectedException, refused.ToString());
        Assert.False(client.IsConnected);
    }

    /// <summary>An IMAP client on a phone's app password, idling, is ended when the owner revokes that app password.</summary>
    [Fact]
    public async Task An_idle_session_on_a_revoked_app_password_is_ended()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (status, signedIn) = await api.SignInAsync("alice@example.test", "alice-dev-password");
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        var token = signedIn.GetProperty("token").GetString()!;
        var phone = await api.JsonAsync(HttpMethod.Post, "/api/v1/me/app-passwords", new { label = "phone", password = "alice-dev-password" }, token, System.Net.HttpStatusCode.Created);

        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", phone.GetProperty("secret").GetString()!);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        using var done = new CancellationTokenSource();
        var idle = client.IdleAsync(done.Token);

        await api.JsonAsync(HttpMethod.Delete, $"/api/v1/me/app-passwords/{phone.GetProperty("id").GetInt64()}", token: token, expected: System.Net.HttpStatusCode.NoContent);

        var ended = await Task.WhenAny(idle, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(ended == idle, "the idle session on the revoked app password was not ended");
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task A_session_whose_account_did_not_change_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        await server.Server.Runtime.Directory.SetStateAsync(SealpostRuntime.LocalAdministrator, "bob@example.test", AccountState.Suspended); // someone else's

        var until = DateTime.UtcNow.AddSeconds(2.5); // past two checks
        while (DateTime.UtcNow < until)
        {
            await client.NoOpAsync();
        }

        Assert.True(client.IsConnected);
    }
}
