using System.Net;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Imap;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// A leaver's account: suspended, then crypto-shredded (every key wrap removed, its mail and folders
/// deleted), after which nothing of its mail is left at rest, not even its ciphertext.
/// </summary>
public sealed class AccountLifecycleTests
{
    private static async Task DeliverAsync(TestServer server, string to, string subject, int bodyBytes)
    {
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync("127.0.0.1", server.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.Inbound).Port, SecureSocketOptions.None);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@outside.example"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = string.Concat(Enumerable.Repeat(subject + " ", bodyBytes / (subject.Length + 1) + 1)) };
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }

    /// <summary>Slices of each stored blob's bytes (its ciphertext), to look for after shredding.</summary>
    private static async Task<List<string>> CiphertextSlicesAsync(SealpostRuntime runtime, long accountId)
    {
        var slices = new List<string>();
        foreach (var mailbox in await runtime.Store.Mail.ListMailboxesAsync(accountId))
        {
            foreach (var message in await runtime.Store.Mail.ListMessagesAsync(mailbox.Id, new UidRange(1, uint.MaxValue)))
            {
                await using var blob = await runtime.Store.Mail.OpenBlobAsync(message.BlobId);
                var bytes = new byte[Math.Min(blob.Length, 8192)];
                await blob.ReadExactlyAsync(bytes);
                slices.Add(Convert.ToHexString(bytes.AsSpan(bytes.Length / 2, 48)));
            }
        }

        return slices;
    }

    private static List<string> FindHex(string root, IEnumerable<string> hexSlices)
    {
        var patterns = hexSlices.Select(Convert.FromHexString).ToList();
        var hits = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            byte[] bytes;
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }
            catch (IOException) when (file.EndsWith(".lock", StringComparison.Ordinal))
            {
                continue; // a lock file another process holds carries no data
            }

            foreach (var pattern in patterns)
            {
                if (bytes.AsSpan().IndexOf(pattern) >= 0)
                {
                    hits.Add(Path.GetRelativePath(root, file));
                }
            }
        }

        return hits;
    }

    [Fact]
    public async Task A_shredded_account_leaves_no_key_wrap_no_folder_and_no_ciphertext_at_rest()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var runtime = server.Server.Runtime;
        var (admin, _, _) = await api.AdministratorAsync("pa@example.test", "lifecycle-admin-passphrase", Role.PlatformAdmin);
        await DeliverAsync(server, "bob@example.test", "LEAVERSMALLMARK", 2_000);
        await DeliverAsync(server, "bob@example.test", "LEAVERLARGEMARK", 200_000);
        var bob = await runtime.Directory.RequireAccountAsync("bob@example.test");
        var slices = await CiphertextSlicesAsync(runtime, bob.Id);
        Assert.Equal(2, slices.Count);
        Assert.NotEmpty(FindHex(runtime.Options.DataDirectory, slices));

        await api.JsonAsync(HttpMethod.Post, "/api/v1/accounts/bob%40example.test/suspend", token: admin, expected: HttpStatusCode.NoContent);
        await api.JsonAsync(HttpMethod.Post, "/api/v1/accounts/bob%40example.test/shred", token: admin, expected: HttpStatusCode.NoContent);

        Assert.Empty(await runtime.Store.Directory.ListCredentialsAsync(bob.Id));
        Assert.Empty(await runtime.Store.Directory.ListRecoveryWrapsAsync(bob.Id));
        Assert.Empty(await runtime.Store.Mail.ListMailboxesAsync(bob.Id));
        Assert.Equal(AccountState.Deleted, (await runtime.Store.Directory.GetAccountAsync(bob.Id))!.State);
        Assert.Single(await runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.AccountShredded)));
        // The blob file is gone; the database pages that held the small one were overwritten and the WAL emptied.
        Assert.Empty(FindHex(runtime.Options.DataDirectory, slices));

        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync(new SaslMechanismPlain("bob@example.test", "bob-dev-password")));
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => DeliverAsync(server, "bob@example.test", "after", 100));
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, refused.ErrorCode);
    }

    [Fact]
    public async Task An_active_account_cannot_be_shredded()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        var (admin, _, _) = await api.AdministratorAsync("pa@example.test", "lifecycle-admin-passphrase", Role.PlatformAdmin);
        using var response = await api.SendAsync(HttpMethod.Post, "/api/v1/accounts/alice%40example.test/shred", token: admin);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.NotEmpty(await server.Server.Runtime.Store.Directory.ListCredentialsAsync((await server.Server.Runtime.Directory.RequireAccountAsync("alice@example.test")).Id));
    }

    [Fact]
    public async Task Deleted_accounts_are_shredded_by_the_server_once_their_retention_has_passed()
    {
        await using var server = await TestServer.StartAsync();
        var directory = server.Server.Runtime.Directory;
        await directory.SetStateAsync(SealpostRuntime.LocalAdministrator, "bob@example.test", AccountState.Deleted);
        await directory.SetStateAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", AccountState.Suspended);
        var bob = await directory.RequireAccountAsync("bob@example.test");

        Assert.Equal(0, await directory.ShredExpiredAsync(Actor.System("sweep"), TimeSpan.FromDays(30), DateTimeOffset.UtcNow));
        Assert.NotEmpty(await server.Server.Runtime.Store.Mail.ListMailboxesAsync(bob.Id));
        Assert.Equal(1, await directory.ShredExpiredAsync(Actor.System("sweep"), TimeSpan.FromDays(30), DateTimeOffset.UtcNow.AddDays(31)));
        Assert.Empty(await server.Server.Runtime.Store.Mail.ListMailboxesAsync(bob.Id));
        // A suspended account is kept: suspension may be lifted.
        Assert.NotEmpty(await server.Server.Runtime.Store.Directory.ListCredentialsAsync((await directory.RequireAccountAsync("alice@example.test")).Id));
        Assert.Equal(0, await directory.ShredExpiredAsync(Actor.System("sweep"), TimeSpan.FromDays(30), DateTimeOffset.UtcNow.AddDays(31)));
        var record = Assert.Single(await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.AccountShredded)));
        Assert.Equal("system", record.Event.Role);
    }

    [Fact]
    public async Task Owners_are_told_once_when_their_mailbox_crosses_80_and_95_percent_of_its_quota()
    {
        await using var server = await TestServer.StartAsync();
        await server.Server.Runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "full@example.test", "quota-test-passphrase", null, 200_000);
        await DeliverAsync(server, "full@example.test", "HALF", 100_000);
        await DeliverAsync(server, "full@example.test", "EIGHTYFIVE", 65_000);
        await DeliverAsync(server, "full@example.test", "SMALL", 1_000);
        await DeliverAsync(server, "full@example.test", "NINETYEIGHT", 25_000);

        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync("full@example.test", "quota-test-passphrase");
        await imap.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
        var subjects = (await imap.Inbox.FetchAsync(0, -1, new MailKit.FetchRequest(MailKit.MessageSummaryItems.Envelope))).Select(m => m.Envelope!.Subject).ToList();
        Assert.Single(subjects, s => s == "Your mailbox is 80% full");
        Assert.Single(subjects, s => s == "Your mailbox is 95% full");
        Assert.Equal(6, subjects.Count);
    }
}
