using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using MimeKit;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// The PostgreSQL store's backup is PostgreSQL's own (docs/operations.md): pg_basebackup of the
/// running cluster, restored as a cluster of its own, serves the mail to a node started on a copy of
/// the data folder; the backup holds no subject, body, folder name or password in the clear.
/// </summary>
public sealed class PostgresBackupTests
{
    private const string Subject = "PgBackupSubjectMarkerQ7";
    private const string Body = "PgBackupBodyMarkerW3";
    private const string Folder = "PgBackupFolderMarkerE5";

    [Fact]
    public async Task A_base_backup_of_a_running_server_restores_its_mail_and_holds_nothing_in_the_clear()
    {
        var cluster = await PostgresCluster.StartNewAsync();
        PostgresCluster? restored = null;
        var backup = Path.Combine(Path.GetTempPath(), "sealpost-pgbackup-" + Guid.NewGuid().ToString("N")[..12]);
        using var copies = new TempFolder("sealpost-pgbackup-node");
        try
        {
            var connection = await cluster.CreateDatabaseAsync();
            var database = new Npgsql.NpgsqlConnectionStringBuilder(connection).Database!;
            await using (var server = await TestServer.StartAsync(o =>
            {
                o.Store.Kind = "postgres";
                o.Store.ConnectionString = connection;
            }))
            {
                var smtp = server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);
                await SendAsync(smtp);

                using (var imap = await ImapAsync(server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls)))
                {
                    await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync(Folder, true);
                }

                // Online, while the server runs: what an operator's nightly job does.
                await cluster.BaseBackupAsync(backup);
                DataFolders.Copy(server.Server.Runtime.Folder.Path, copies.Sub("data"));
                // The test rig's master key file lives beside its folder (officers' shares in production).
                File.Copy(TestOptions.MasterKeyFile(server.Server.Runtime.Folder.Path), TestOptions.MasterKeyFile(copies.Sub("data")));
            }

            var hits = new MarkerScanner([Subject, Body, Folder, "alice-dev-password"]).ScanTree(backup);
            Assert.Empty(hits);

            restored = await PostgresCluster.StartFromBackupAsync(backup);
            await using var again = await TestServer.StartAsync(o =>
            {
                o.DataDirectory = copies.Sub("data");
                o.Vault.MasterKeyFile = TestOptions.MasterKeyFile(copies.Sub("data"));
                o.Store.Kind = "postgres";
                o.Store.ConnectionString = restored.ConnectionString(database);
            });
            using var reader = await ImapAsync(again.Server.ImapEndpoint(ImapListenerKind.ImplicitTls));
            await reader.Inbox.OpenAsync(FolderAccess.ReadOnly);
            var found = await reader.Inbox.SearchAsync(SearchQuery.SubjectContains(Subject));
            var message = await reader.Inbox.GetMessageAsync(Assert.Single(found));
            Assert.Contains(Body, message.TextBody);
            Assert.Contains(await reader.GetFoldersAsync(reader.PersonalNamespaces[0]), f => f.Name == Folder);
        }
        finally
        {
            await cluster.StopAndDeleteAsync();
            await (restored?.StopAndDeleteAsync() ?? Task.CompletedTask);
        }
    }

    private static async Task<ImapClient> ImapAsync(System.Net.IPEndPoint endpoint)
    {
        var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        return client;
    }

    private static async Task SendAsync(System.Net.IPEndPoint endpoint)
    {
        using var client = new MailKit.Net.Smtp.SmtpClient();
        await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.None);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@elsewhere.test"));
        message.To.Add(MailboxAddress.Parse("alice@example.test"));
        message.Subject = Subject;
        message.Body = new TextPart("plain") { Text = Body };
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }
}
