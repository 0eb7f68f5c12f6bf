using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>
/// Limits:MessageSpillBytes over a real server: a message larger than the part kept in memory waits in
/// a sealed, unnamed file while it arrives, and the mailbox gets it octet for octet.
/// </summary>
public sealed class MessageSpillTests : IAsyncLifetime
{
    private const string Marker = "SPILLMARKER-4b1f0c";
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o => o.Limits.MessageSpillBytes = 64 * 1024);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_large_message_waits_sealed_on_disk_and_arrives_whole()
    {
        var lines = Enumerable.Range(0, 40_000).Select(i => $"{Marker} line {i:D6} " + new string((char)('a' + i % 26), 50));
        var message = "From: carol@remote.example\r\nTo: bob@example.test\r\nSubject: spilled\r\n\r\n" + string.Join("\r\n", lines) + "\r\n";
        await using var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<carol@remote.example>"));
        Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        await smtp.SendAsync(Encoding.ASCII.GetBytes(message));

        // All of it is with the server now (its budget shows it), most of it on disk: nothing there reads.
        var memory = _server.Server.Runtime.MessageMemory;
        await Waiting.UntilAsync(() => memory.Used >= message.Length, "the server to hold the whole message", seconds: 30);
        Assert.Empty(new MarkerScanner([Marker]).ScanTree(_server.Server.Runtime.Folder.Path));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_server.Server.Runtime.Folder.Path, "incoming")));

        Assert.StartsWith("250", await smtp.CommandAsync("."));
        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync("bob@example.test", "bob-dev-password");
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        using var stored = await imap.Inbox.GetStreamAsync(imap.Inbox.Count - 1, "TEXT");
        using var text = new StreamReader(stored, Encoding.ASCII);
        Assert.Equal(string.Join("\r\n", lines) + "\r\n", await text.ReadToEndAsync());
    }
}
