using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>
/// SMTP reuses directory answers for Smtp:LookupCacheSeconds (5 s by default). These are the promises
/// that make that safe: a new address is reachable at once, mail is always sealed to the current key,
/// and a mailbox filling up within the window is still noticed.
/// </summary>
public sealed class SmtpLookupCacheTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Smtp.LookupCacheSeconds = 300; // far longer than any test: whatever passes here does not depend on expiry
        o.Smtp.QuotaGraceBytes = 0;
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private System.Net.IPEndPoint Inbound => _server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);

    private static async Task SendAsync(SmtpRaw smtp, string to, string body)
    {
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<someone@remote.example>"));
        Assert.StartsWith("250", await smtp.CommandAsync($"RCPT TO:<{to}>"));
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        Assert.StartsWith("250", await smtp.CommandAsync($"Subject: cache test\r\n\r\n{body}\r\n."));
    }

    [Fact]
    public async Task An_address_unknown_a_moment_ago_is_accepted_as_soon_as_the_account_exists()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<someone@remote.example>"));
        Assert.StartsWith("550 5.1.1", await smtp.CommandAsync("RCPT TO:<carol@example.test>"));
        Assert.StartsWith("250", await smtp.CommandAsync("RSET"));

        await _server.Server.Runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "carol@example.test", "carol-password-1", "Carol", 0);
        await SendAsync(smtp, "carol@example.test", "welcome");
    }

    [Fact]
    public async Task Mail_after_a_key_rotation_is_sealed_to_the_new_key()
    {
        var runtime = _server.Server.Runtime;
        var account = await runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "dave@example.test", "dave-password-1", "Dave", 0);
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        await SendAsync(smtp, "dave@example.test", "before rotation"); // fills the lookup cache

        await runtime.Directory.RotateKeyAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "dave@example.test", "dave-password-1");
        var newest = (await runtime.Store.Directory.ListAccountKeysAsync(account.Id)).Max(k => k.Version);
        await SendAsync(smtp, "dave@example.test", "after rotation");

        var inbox = (await runtime.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!;
        var last = (await runtime.Store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).MaxBy(m => m.Uid)!;
        Assert.Equal(newest, ContentKeyWrap.Describe(last.WrappedKey).KeyVersion);
    }

    [Fact]
    public async Task A_mailbox_filled_within_the_cache_window_is_refused_at_rcpt()
    {
        await _server.Server.Runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "erin@example.test", "erin-password-1", "Erin", 3_000);
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        await SendAsync(smtp, "erin@example.test", new string('x', 2_000)); // usage now cached, then raised by this delivery

        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<someone@remote.example> SIZE=1500"));
        Assert.StartsWith("452 4.2.2", await smtp.CommandAsync("RCPT TO:<erin@example.test>"));
    }
}
