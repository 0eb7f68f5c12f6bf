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
/// Disaster recovery under the shipped promotion mechanism: two PostgreSQL members managed by Patroni
/// (configured by deploy/dr/patroni-member.sh) with etcd holding the leader lock, one the synchronous
/// standby of the other; a node whose connection string lists both hosts with Target Session
/// Attributes=read-write delivers under SMTP load. The primary's site is lost (its Patroni and its
/// PostgreSQL killed with SIGKILL); Patroni promotes the synchronous standby by itself; the node
/// carries on against it. RPO must be 0: every message that got 250 is readable once. The printed RTO
/// runs from the kill to the first delivery on the promoted member. The old primary then comes back
/// and must rejoin as a standby (pg_rewind), refusing writes: no split brain.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Losing_the_primary_site_promotes_the_synchronous_standby_by_itself_and_loses_no_acknowledged_message()
    {
        await using var cluster = await PatroniCluster.StartAsync();
        var connection = await cluster.CreateDatabaseAsync();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Store.Kind = "postgres";
            o.Store.ConnectionString = connection;
        });
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
        var primary = cluster.Members.Single(m => m.Name == cluster.State().Leader);
        var standby = cluster.Members.Single(m => m != primary);
        var killed = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        await cluster.KillSiteAsync(primary);
        await Waiting.UntilAsync(() => Volatile.Read(ref temporary) >= 1, "the load did not notice the primary's loss");
        await cluster.WaitForAsync(c => c.Leader == standby.Name, "Patroni did not promote the synchronous standby", 90);
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

        // The old primary comes back: Patroni finds another leader, rewinds it and makes it the standby.
        var back = Stopwatch.StartNew();
        cluster.Rejoin(primary);
        await cluster.WaitForAsync(c => c.Leader == standby.Name && c.SynchronousStandby == primary.Name, "the old primary did not rejoin as the synchronous standby", 90);
        var rejoined = back.Elapsed;
        var oldPrimaryInRecovery = await cluster.InRecoveryAsync(primary);
        var write = await Record.ExceptionAsync(() => cluster.SuperuserAsync(primary, "CREATE TABLE split_brain (x int)"));

        output.WriteLine($"RPO: {lost.Count} acknowledged messages lost of {acked.Count}; RTO: first delivery {firstAfter.TotalSeconds:F1} s after the primary site was killed "
            + $"(Patroni promoted the standby after {promotedAfter.TotalSeconds:F1} s); {temporary} deliveries answered 4xx meanwhile; "
            + $"the old primary rejoined as the synchronous standby {rejoined.TotalSeconds:F1} s after it came back");
        Assert.Empty(other);
        Assert.Empty(lost);
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.True(oldPrimaryInRecovery, "the old primary came back as a primary");
        Assert.Contains("read-only", Assert.IsType<PostgresException>(write).MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_primary_cut_off_from_the_quorum_demotes_itself_and_refuses_writes()
    {
        await using var cluster = await PatroniCluster.StartAsync();
        var primary = cluster.Members.Single(m => m.Name == cluster.State().Leader);
        await cluster.SuperuserAsync(primary, "CREATE TABLE before_the_cut (x int)");
        var clock = Stopwatch.StartNew();
        await cluster.KillQuorumAsync();
        var demoted = false;
        await Waiting.UntilAsync(() =>
        {
            try
            {
                return demoted = cluster.InRecoveryAsync(primary).GetAwaiter().GetResult();
            }
            catch (NpgsqlException)
            {
                return false; // restarting as a standby
            }
        }, "the primary kept taking writes without the quorum", 90);
        output.WriteLine($"the primary demoted itself {clock.Elapsed.TotalSeconds:F1} s after it lost the quorum");
        var write = await Record.ExceptionAsync(() => cluster.SuperuserAsync(primary, "CREATE TABLE after_the_cut (x int)"));
        Assert.True(demoted);
        Assert.Contains("read-only", Assert.IsType<PostgresException>(write).MessageText, StringComparison.Ordinal);
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
}
