using System.Net;
using System.Text;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>A real server per test (dev users alice and bob), with helpers for raw IMAP transcripts.</summary>
public abstract class ImapTestBase : IAsyncLifetime
{
    protected const string Alice = "alice@example.test";
    protected const string AlicePassword = "alice-dev-password";
    protected const string Bob = "bob@example.test";
    protected const string BobPassword = "bob-dev-password";

    protected TestServer Server { get; private set; } = null!;

    /// <summary>Options a test class may change before the server starts.</summary>
    protected virtual void Configure(Sealpost.Core.Configuration.SealpostOptions options)
    {
    }

    public virtual async Task InitializeAsync() => Server = await TestServer.StartAsync(o =>
    {
        o.Imap.AllowPlaintextAuthOnLoopback = true; // a --dev option: raw transcripts log in without TLS
        Configure(o);
    });

    public virtual async Task DisposeAsync() => await Server.DisposeAsync();

    protected IPEndPoint Plain => Server.Server.ImapEndpoint(ImapListenerKind.StartTls);

    protected IPEndPoint Tls => Server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls);

    /// <summary>A session logged in as <paramref name="user"/> over plain loopback.</summary>
    protected async Task<ImapRaw> LoginAsync(string user = Alice, string password = AlicePassword)
    {
        var raw = await ImapRaw.ConnectAsync(Plain);
        Assert.StartsWith("* OK", await raw.GreetingAsync());
        var reply = await raw.CommandAsync($"L1 LOGIN {user} {password}");
        Assert.Contains("L1 OK", reply);
        return raw;
    }

    /// <summary>Delivers a message into a mailbox of the account the way SMTP would (sealed to its key).</summary>
    protected async Task<uint> DeliverAsync(string message, string user = Alice, MailboxRole role = MailboxRole.Inbox, MessageFlags flags = MessageFlags.None, DateTimeOffset? date = null)
    {
        var r = Server.Server.Runtime;
        var account = (await r.Store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse(user)))!;
        var mailbox = (await r.Store.Mail.FindMailboxByRoleAsync(account.Id, role))!;
        var stored = await r.Delivery.DeliverAsync(Encoding.UTF8.GetBytes(message.ReplaceLineEndings("\r\n")),
            [new DeliveryTarget(account.Id, mailbox.Id, flags)], date ?? DateTimeOffset.UtcNow);
        return stored[0].Uid;
    }

    protected static string Message(string subject, string body = "Hello.", string from = "carol@example.org", string to = Alice, string? extraHeaders = null) =>
        $"From: Carol <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Tue, 03 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{Guid.NewGuid():N}@example.org>\r\n{extraHeaders}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n";

    /// <summary>Another session selects the mailbox first, so its messages are no longer \Recent for the test's session.</summary>
    protected async Task SeenByAnotherSessionAsync(string user = Alice, string password = AlicePassword, string mailbox = "INBOX")
    {
        await using var other = await LoginAsync(user, password);
        Assert.Contains("OK", await other.CommandAsync($"S1 SELECT {mailbox}"));
    }

    /// <summary>Lines of a transcript, without the tagged completion.</summary>
    protected static string[] Lines(string transcript) => transcript.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
}
