using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Sealpost.Core.Audit;
using Sealpost.Imap;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Access;

/// <summary>
/// A scripted day on a real server, with real clients: logins that succeed and fail on IMAP and
/// SMTP, a message submitted, administration from the CLI while the server runs, a refused command,
/// and a restart with a changed option. Exactly the expected records exist, and the trail verifies.
/// </summary>
public sealed class AuditSessionTests
{
    private static readonly string Admin = $"{Environment.UserName}@{Environment.MachineName}";

    [Fact]
    public async Task A_scripted_session_leaves_exactly_the_expected_records()
    {
        var server = await TestServer.StartAsync();
        var options = server.Server.Runtime.Options;
        var cli = new CliRunner(options.DataDirectory);
        long firstSequence;
        await using (var audit = await SqliteAuditStore.OpenAsync(options.DataDirectory, 5000))
        {
            firstSequence = (await audit.GetHeadAsync())!.Sequence + 1;
        }

        try
        {
            var imap = server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls);
            using (var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
            {
                await client.ConnectAsync("127.0.0.1", imap.Port, SecureSocketOptions.SslOnConnect);
                await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "not her password")));
                await client.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice-dev-password"));
                await client.DisconnectAsync(true);
            }

            var submission = server.Server.SmtpEndpoint(SmtpListenerKind.SubmissionImplicitTls);
            using (var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
            {
                await client.ConnectAsync("127.0.0.1", submission.Port, SecureSocketOptions.SslOnConnect);
                await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismPlain("bob@example.test", "not his password")));
                await client.AuthenticateAsync(new SaslMechanismPlain("bob@example.test", "bob-dev-password"));
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("bob@example.test"));
                message.To.Add(MailboxAddress.Parse("alice@example.test"));
                message.Subject = "audited";
                message.Body = new TextPart("plain") { Text = "hello" };
                await client.SendAsync(message);
                await client.DisconnectAsync(true);
            }

            await cli.OkWithInputAsync("carol first pass\n", "user", "add", "carol@example.test");
            await cli.OkWithInputAsync("carol second pass\n", "user", "passwd", "--reset", "carol@example.test");
            await cli.OkAsync("user", "suspend", "carol@example.test");
            await cli.OkAsync("alias", "add", "sales@example.test", "alice@example.test");
            await cli.OkAsync("role", "grant", "bob@example.test", "auditor");
            await cli.OkAsync("user", "unlock", "alice@example.test");
            (await cli.RunWithInputAsync("some pass phrase\n", "user", "add", "dave@nowhere.example")).AssertCleanError(1, "not a local domain");
        }
        finally
        {
            await server.Server.DisposeAsync();
        }

        // Restart with one option changed.
        options.Limits.MaxRecipients = 500;
        await (await SealpostServer.StartAsync(new ServerStartOptions(options, true, TextWriter.Null))).DisposeAsync();

        IReadOnlyList<AuditRecord> records;
        await using (var audit = await SqliteAuditStore.OpenAsync(options.DataDirectory, 5000))
        {
            records = await audit.ReadAsync(firstSequence, 10_000);
        }

        var seen = records.Select(r => $"{r.Event.Action} {r.Event.Actor} {r.Event.Target} {r.Event.Outcome} {r.Event.Protocol}").ToList();
        string[] expected =
        [
            "LoginFailed alice@example.test alice@example.test Failure imap",
            "LoginSucceeded alice@example.test alice@example.test Success imap",
            "LoginFailed bob@example.test bob@example.test Failure submission",
            "LoginSucceeded bob@example.test bob@example.test Success submission",
            "MessageDelivered bob@example.test  Success submission",
            $"KeyVersionCreated {Admin} carol@example.test Success cli",
            $"AccountCreated {Admin} carol@example.test Success cli",
            $"KeyVersionCreated {Admin} carol@example.test Success cli",
            $"PasswordReset {Admin} carol@example.test Success cli",
            $"AccountSuspended {Admin} carol@example.test Success cli",
            $"AliasAdded {Admin} sales@example.test Success cli",
            $"RoleGranted {Admin} bob@example.test Success cli",
            $"LockoutLifted {Admin} alice@example.test Success cli",
            $"AccountCreated {Admin} dave@nowhere.example Failure cli",
            "ServerStopped system  Success server",
            "ConfigurationChanged system  Success server",
            "ServerStarted system  Success server",
            "ServerStopped system  Success server",
        ];
        Assert.Equal(expected, seen);
        Assert.Contains("Limits:MaxRecipients", records.Single(r => r.Event.Action == AuditAction.ConfigurationChanged).Event.Detail);
        Assert.Equal("auditor", records.Single(r => r.Event.Action == AuditAction.RoleGranted).Event.Detail);
        Assert.All(records.Where(r => r.Event.Protocol is "imap" or "submission"), r => Assert.Equal("127.0.0.1", r.Event.Source));

        var verified = await cli.OkAsync("audit", "verify");
        Assert.Contains("verified", verified.Out);
    }
}
