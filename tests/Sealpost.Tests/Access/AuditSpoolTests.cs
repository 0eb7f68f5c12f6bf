using System.Diagnostics;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Core.Audit;
using Sealpost.Domain.Audit;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Access;

/// <summary>
/// The audit store goes away (another process holds its write lock, as a stuck or stopped database
/// would): logins and deliveries go on through the local spool, administration is refused, and once
/// the store is back the spooled events arrive in it, in order, and the trail verifies.
/// </summary>
public sealed class AuditSpoolTests
{
    [Fact]
    public async Task Logins_and_deliveries_go_on_through_the_spool_while_administration_is_refused()
    {
        await using var server = await TestServer.StartAsync(o => o.Audit.BusyTimeoutMilliseconds = 300);
        var runtime = server.Server.Runtime;
        var data = runtime.Options.DataDirectory;
        var cli = new CliRunner(data);

        using var holder = HoldWriteLock(Path.Combine(data, SqliteAuditStore.FileName));
        Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());

        using (var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await client.ConnectAsync("127.0.0.1", server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
            await client.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice-dev-password"));
            await client.DisconnectAsync(true);
        }

        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", server.Server.SmtpEndpoint(SmtpListenerKind.Inbound).Port, SecureSocketOptions.None);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("carol@remote.example"));
            message.To.Add(MailboxAddress.Parse("bob@example.test"));
            message.Subject = "while the audit store is away";
            message.Body = new TextPart("plain") { Text = "hello" };
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }

        Assert.Equal(2, runtime.Audit.Spooled);
        var spoolFile = Path.Combine(data, AuditSpool.FileName);
        var spooledBytes = await File.ReadAllBytesAsync(spoolFile);
        var refused = await cli.RunAsync("alias", "add", "sales@example.test", "alice@example.test", "--set", "Audit:BusyTimeoutMilliseconds=300");
        refused.AssertCleanError(1, "audit");
        Assert.Equal(spooledBytes, await File.ReadAllBytesAsync(spoolFile));

        await holder.StandardInput.WriteLineAsync("release");
        await holder.StandardInput.FlushAsync();
        await holder.WaitForExitAsync();
        await WaitUntilAsync(() => runtime.Audit.Spooled == 0, TimeSpan.FromSeconds(20));

        var records = await runtime.Audit.Store.SearchAsync(new AuditQuery(Limit: 10_000));
        var arrived = records.Where(r => r.Event.Action is AuditAction.LoginSucceeded or AuditAction.MessageDelivered).Select(r => (r.Event.Action, r.Event.Actor)).ToList();
        Assert.Equal([(AuditAction.LoginSucceeded, "alice@example.test"), (AuditAction.MessageDelivered, "system")], arrived);
        Assert.DoesNotContain(records, r => r.Event.Action == AuditAction.AliasAdded && r.Event.Target == "sales@example.test");
        Assert.False(File.Exists(Path.Combine(data, AuditSpool.FileName)));

        // Administration works again.
        await cli.OkAsync("alias", "add", "sales@example.test", "alice@example.test");
        Assert.Contains("verified", (await cli.OkAsync("audit", "verify")).Out);
    }

    [Fact]
    public async Task A_full_spool_refuses_logins_with_a_temporary_error()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Audit.BusyTimeoutMilliseconds = 300;
            o.Audit.SpoolMaxEvents = 1;
        });
        using var holder = HoldWriteLock(Path.Combine(server.Server.Runtime.Options.DataDirectory, SqliteAuditStore.FileName));
        Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());
        var port = server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port;

        using var first = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await first.ConnectAsync("127.0.0.1", port, SecureSocketOptions.SslOnConnect);
        await first.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice-dev-password"));

        await using var second = await ImapRaw.ConnectAsync(server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls), tls: true);
        await second.GreetingAsync();
        Assert.StartsWith("A1 NO [UNAVAILABLE]", await second.CommandAsync("A1 LOGIN bob@example.test bob-dev-password"));
        Assert.Contains("Audit spool full", server.Logs.ToString());

        await holder.StandardInput.WriteLineAsync("release");
        await holder.StandardInput.FlushAsync();
        await holder.WaitForExitAsync();
    }

    [Fact]
    public void Another_spool_on_the_folder_neither_appends_to_nor_drains_the_owners_spool()
    {
        var folder = Directory.CreateTempSubdirectory("sealpost-spool-").FullName;
        try
        {
            var e = new AuditEvent(DateTimeOffset.UtcNow, "system", "system", null, "smtp", AuditAction.MessageDelivered, "bob@example.test", AuditOutcome.Success, null, "c1");
            using (var owner = new AuditSpool(folder, 10))
            {
                Assert.True(owner.TryAppend([e]));
                using var other = new AuditSpool(folder, 10);
                Assert.False(other.Owned);
                Assert.Equal(0, other.Count);
                Assert.False(other.TryAppend([e]));
                Assert.Empty(other.ReadAll());
                other.Clear();
                Assert.Single(owner.ReadAll());
            }

            using var next = new AuditSpool(folder, 10);
            Assert.True(next.Owned);
            Assert.Equal(1, next.Count);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A second process that takes the audit database's write lock and keeps it until told.</summary>
    private static Process HoldWriteLock(string path)
    {
        Tools.Require("python3");
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            sys.stdin.readline()
            c.execute("ROLLBACK")
            """);
        start.ArgumentList.Add(path);
        return Process.Start(start)!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the spool did not drain");
            await Task.Delay(50);
        }
    }
}
