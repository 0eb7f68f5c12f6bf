using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Tests.Support;
using Xunit.Abstractions;

namespace Sealpost.Tests.Server;

/// <summary>
/// Disaster recovery: a primary and a synchronous streaming standby on loopback; a node whose
/// connection string lists both hosts with Target Session Attributes=read-write delivers under SMTP
/// load; the primary is killed (pg_ctl stop -m immediate) and the standby promoted; the node carries
/// on against it. RPO must be 0: every message that got 250 is readable once. The promotion is done
/// by the test, so the time printed is reconnection time, not a failover mechanism's RTO.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Killing_the_primary_and_promoting_the_synchronous_standby_loses_no_acknowledged_message()
    {
        var primary = await PostgresCluster.StartNewAsync();
        PostgresCluster? standby = null;
        try
        {
            var connection = await primary.CreateDatabaseAsync();
            standby = await primary.StartStandbyAsync("dr_site");
            await primary.ExecuteAsync("ALTER SYSTEM SET synchronous_standby_names = 'dr_site'");
            await primary.ExecuteAsync("SELECT pg_reload_conf()");
            var both = new NpgsqlConnectionStringBuilder(connection)
            {
                Host = $"127.0.0.1:{primary.Port},127.0.0.1:{standby.Port}",
                TargetSessionAttributes = "read-write",
                HostRecheckSeconds = 1,
            }.ConnectionString;

            await using var server = await TestServer.StartAsync(o =>
            {
                o.Store.Kind = "postgres";
                o.Store.ConnectionString = both;
            });
            await WaitForSynchronousStandbyAsync(connection);
            var smtp = server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);
            var acked = new ConcurrentDictionary<string, DateTime>();
            var temporary = 0;
            var other = new ConcurrentQueue<string>();
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
            {
                var i = 0;
                while (!stop.IsCancellationRequested)
                {
                    var id = $"w{w}-{i++}";
                    try
                    {
                        using var client = new SmtpClient { Timeout = 30_000 };
                        await client.ConnectAsync(smtp.Address.ToString(), smtp.Port, SecureSocketOptions.None);
                        await client.SendAsync(Message(id));
                        acked[id] = DateTime.UtcNow;
                        await client.DisconnectAsync(true);
                    }
                    catch (SmtpCommandException ex) when ((int)ex.StatusCode is >= 400 and < 500)
                    {
                        Interlocked.Increment(ref temporary);
                        await Task.Delay(100);
                    }
                    catch (Exception ex)
                    {
                        other.Enqueue($"{id}: {ex.GetType().Name}: {ex.Message}");
                        await Task.Delay(100);
                    }
                }
            })).ToList();

            await Waiting.UntilAsync(() => acked.Count >= 30, "the load did not start");
            var killed = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            await primary.StopAsync(immediate: true);
            await Waiting.UntilAsync(() => Volatile.Read(ref temporary) >= 1, "the load did not notice the primary's loss");
            await standby.PromoteAsync();
            var promotedAfter = clock.Elapsed;
            await Waiting.UntilAsync(() => acked.Values.Any(t => t > killed.Add(promotedAfter)), "delivery did not resume on the promoted standby");
            // Acknowledgements in the instant after the kill are of commits made before it: count from the promotion.
            var firstAfter = acked.Values.Where(t => t > killed.Add(promotedAfter)).Min() - killed;
            var count = acked.Count;
            await Waiting.UntilAsync(() => acked.Count >= count + 20, "delivery did not go on", 90);
            await stop.CancelAsync();
            await Task.WhenAll(load);

            using var reader = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
            var imap = server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls);
            await reader.ConnectAsync(imap.Address.ToString(), imap.Port, SecureSocketOptions.SslOnConnect);
            await reader.AuthenticateAsync("alice@example.test", "alice-dev-password");
            await reader.Inbox.OpenAsync(FolderAccess.ReadOnly);
            var stored = (await reader.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope))
                .Select(s => s.Envelope?.MessageId).Where(id => id?.EndsWith("@failover.test", StringComparison.Ordinal) == true)
                .Select(id => id!.Split('@')[0]).ToList();
            var lost = acked.Keys.Except(stored).ToList();
            output.WriteLine($"RPO: {lost.Count} acknowledged messages lost of {acked.Count}; promotion {promotedAfter.TotalSeconds:F1} s after the kill (done by the test); "
                + $"first delivery on the new primary {firstAfter.TotalSeconds:F2} s after the kill ({(firstAfter - promotedAfter).TotalSeconds:F2} s of reconnection); {temporary} deliveries answered 4xx meanwhile");
            Assert.Empty(other);
            Assert.Empty(lost);
            Assert.Equal(stored.Count, stored.Distinct().Count());
        }
        finally
        {
            await primary.StopAndDeleteAsync();
            await (standby?.StopAndDeleteAsync() ?? Task.CompletedTask);
        }
    }

    private static MimeMessage Message(string id)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("load@elsewhere.test"));
        message.To.Add(MailboxAddress.Parse("alice@example.test"));
        message.Subject = "failover " + id;
        message.MessageId = id + "@failover.test";
        message.Body = new TextPart("plain") { Text = "message " + id };
        return message;
    }

    /// <summary>The primary reports the standby as synchronous: from here on a commit waits for it.</summary>
    private static async Task WaitForSynchronousStandbyAsync(string connection)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await using (var check = new NpgsqlConnection(connection))
            {
                await check.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'", check);
                if ((long)(await command.ExecuteScalarAsync())! == 1)
                {
                    return;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the standby did not become synchronous");
            }

            await Task.Delay(100);
        }
    }
}
