using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>
/// On submission the message's From and Sender headers must be the authenticated account's own
/// addresses (its address or an alias that leads to it), as the envelope sender already must:
/// otherwise 550 5.7.1 saying why, and nothing is delivered or queued.
/// </summary>
public sealed class SenderIdentityTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        await new CliRunner(_server.Server.Runtime.Options.DataDirectory).OkAsync("alias", "add", "sales@example.test", "alice@example.test");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, string?, bool> Headers() => new()
    {
        { "alice@example.test", null, true },
        { "\"Alice A.\" <ALICE@Example.Test>", null, true },
        { "sales@example.test", null, true },
        { "sales@example.test", "alice@example.test", true },
        { "bob@example.test", null, false },
        { "ceo@partner.test", null, false },
        { "alice@example.test, bob@example.test", "alice@example.test", false },
        { "alice@example.test", "bob@example.test", false },
        { "undisclosed-recipients:;", null, false },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public async Task The_header_sender_must_be_the_accounts_own(string from, string? sender, bool accepted)
    {
        var message = new MimeMessage();
        message.Headers.Replace(HeaderId.From, from);
        if (sender is not null)
        {
            message.Headers.Add(HeaderId.Sender, sender);
        }

        message.To.Add(MailboxAddress.Parse("bob@example.test"));
        message.Subject = "identity";
        message.Body = new TextPart("plain") { Text = "hello" };

        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", _server.Server.SmtpEndpoint(SmtpListenerKind.Submission).Port, SecureSocketOptions.StartTls);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        var send = client.SendAsync(message, MailboxAddress.Parse("alice@example.test"), [MailboxAddress.Parse("bob@example.test")]);
        if (accepted)
        {
            await send;
            return;
        }

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => send);
        Assert.Equal(550, (int)refused.StatusCode);
        Assert.Contains("is not an address of the authenticated account", refused.Message);
    }
}
