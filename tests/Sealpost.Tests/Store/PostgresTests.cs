using System.Globalization;
using Npgsql;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using Sealpost.Store.Postgres;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Store;

/// <summary>What only a shared database has: several processes at once, and a database that goes away and comes back.</summary>
public sealed class PostgresTests
{
    private static async Task<long> InboxAsync(ISealpostStore store, string address)
    {
        var parsed = MailAddress.Parse(address);
        var tenant = await store.Directory.FindTenantAsync("bench") ?? await store.Directory.CreateTenantAsync("bench", "Bench");
        var domain = await store.Directory.FindDomainAsync(parsed.Domain) ?? await store.Directory.AddDomainAsync(tenant.Id, parsed.Domain);
        var account = await store.Directory.FindAccountAsync(parsed) ?? await store.Directory.CreateAccountAsync(new NewAccount(domain.Id, parsed, "u", 0, AccountRoles.User));
        return (await store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox)
            ?? await store.Mail.CreateMailboxAsync(account.Id, 0, BitConverter.GetBytes(0), "INBOX"u8.ToArray(), MailboxRole.Inbox)).Id;
    }

    [Fact]
    public async Task Two_processes_append_to_one_mailbox_with_unique_increasing_uids_and_a_third_hears_every_change()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connection = await cluster.CreateDatabaseAsync();
        await using var observer = await PostgresStore.OpenAsync(connection);
        var inbox = await InboxAsync(observer, "user0@bench.example");
        var mailbox = (await observer.Mail.GetMailboxAsync(inbox))!;
        using var subscription = observer.Changes.Subscribe(mailbox.AccountId);

        const int PerProcess = 150;
        using var a = ChildProcess.Start("Sealpost.Bench", ["append", "--postgres", connection, "--mailboxes", "1", "--messages", PerProcess.ToString(CultureInfo.InvariantCulture), "--concurrency", "4", "--size", "2000", "--print-acks"]);
        using var b = ChildProcess.Start("Sealpost.Bench", ["append", "--postgres", connection, "--mailboxes", "1", "--messages", PerProcess.ToString(CultureInfo.InvariantCulture), "--concurrency", "4", "--size", "2000", "--print-acks"]);
        Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, await b.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var acks = new[] { a, b }.Select(p => p.Lines.Where(l => l.StartsWith("ack ", StringComparison.Ordinal)).Select(l => uint.Parse(l.Split(' ')[4], CultureInfo.InvariantCulture)).ToList()).ToList();
        Assert.All(acks, list => Assert.Equal(PerProcess, list.Count));
        Assert.Equal(Enumerable.Range(1, 2 * PerProcess).Select(i => (uint)i), acks.SelectMany(x => x).Order());
        var rows = await observer.Mail.ListMessagesAsync(inbox, UidRange.All);
        Assert.Equal(2 * PerProcess, rows.Count);
        Assert.True(rows.Zip(rows.Skip(1)).All(p => p.First.ModSeq < p.Second.ModSeq), "MODSEQ must rise with UID");

        // The observer process-equivalent (its own connection and LISTEN) hears the changes up to the last MODSEQ.
        var highest = (await observer.Mail.GetMailboxAsync(inbox))!.HighestModSeq;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        long seen = 0;
        while (seen < highest)
        {
            var change = await subscription.Reader.ReadAsync(cts.Token);
            Assert.Equal(inbox, change.MailboxId);
            seen = Math.Max(seen, change.HighestModSeq);
        }
    }

    [Fact]
    public async Task A_change_heard_through_notify_records_its_lag()
    {
        var connection = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        await using var store = await PostgresStore.OpenAsync(connection);
        var inbox = await InboxAsync(store, "lag@bench.example");
        var lags = new System.Collections.Concurrent.ConcurrentBag<double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "sealpost.change_feed.lag")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => lags.Add(value));
        listener.Start();
        using var subscription = store.Changes.Subscribe((await store.Mail.GetMailboxAsync(inbox))!.AccountId);

        await store.Mail.DeliverAsync(NewBlob.FromBytes(Bench.BenchMessages.Content(1, 500)), [new NewMessage(inbox, MessageFlags.None, [], DateTimeOffset.UtcNow)]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await subscription.Reader.ReadAsync(cts.Token);

        Assert.NotEmpty(lags);
        Assert.All(lags, lag => Assert.InRange(lag, 0, 60));
    }

    [Theory]
    [InlineData("7,42,9,1,1733500000000", true, 1733500000000L)]
    [InlineData("7,42,9,1", true, null)] // from a node of the previous version, during a rolling upgrade
    [InlineData("7,42,9", false, null)]
    [InlineData("7,x,9,1,5", false, null)]
    [InlineData("", false, null)]
    public void Notification_payloads_are_read_with_or_without_their_time(string payload, bool read, long? sent)
    {
        Assert.Equal(read, PostgresChangeFeed.TryDecode(payload, out var change, out var time));
        Assert.Equal(sent, time);
        if (read)
        {
            Assert.Equal((7L, 42L, 9L), (change.AccountId, change.MailboxId, change.HighestModSeq));
        }
    }

    [Fact]
    public async Task A_database_stopped_mid_load_gives_a_typed_error_keeps_nothing_half_written_and_recovers()
    {
        var cluster = await PostgresCluster.StartNewAsync();
        try
        {
            var connection = await cluster.CreateDatabaseAsync();
            await using var store = await PostgresStore.OpenAsync(connection);
            var inbox = await InboxAsync(store, "load@bench.example");
            var acked = new System.Collections.Concurrent.ConcurrentBag<uint>();
            var unavailable = 0;
            var other = 0;
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                var i = 0;
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var r = await store.Mail.DeliverAsync(NewBlob.FromBytes(Bench.BenchMessages.Content((w * 100_000) + i++, 3000)), [new NewMessage(inbox, MessageFlags.None, [], DateTimeOffset.UtcNow)]);
                        acked.Add(r[0].Uid);
                    }
                    catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
                    {
                        Interlocked.Increment(ref unavailable);
                        await Task.Delay(50);
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref other);
                        await Task.Delay(50);
                    }
                }
            })).ToList();

            await Waiting.UntilAsync(() => acked.Count >= 100, "condition not reached", 10);
            await cluster.StopAsync(immediate: true);
            await Waiting.UntilAsync(() => Volatile.Read(ref unavailable) >= 4, "condition not reached", 10);
            var ackedWhileDown = acked.Count;
            await cluster.StartAgainAsync();
            await Waiting.UntilAsync(() => acked.Count >= ackedWhileDown + 100, "condition not reached", 10); // recovered by itself
            stop.Cancel();
            await Task.WhenAll(writers);

            Assert.Equal(0, other); // every failure was the typed one
            var rows = await store.Mail.ListMessagesAsync(inbox, UidRange.All);
            var byUid = rows.ToDictionary(r => r.Uid);
            Assert.All(acked, uid => Assert.True(byUid.ContainsKey(uid), $"acknowledged UID {uid} is missing"));
            var mailbox = (await store.Mail.GetMailboxAsync(inbox))!;
            Assert.Equal(rows.Count, mailbox.MessageCount);
            Assert.True(rows.All(r => r.Uid < mailbox.UidNext));

            // Nothing half-written: every blob belongs to a message, every message to a blob.
            await using var check = new NpgsqlConnection(connection);
            await check.OpenAsync();
            await using var orphans = new NpgsqlCommand("SELECT (SELECT count(*) FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)) + (SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = m.blob_id))", check);
            Assert.Equal(0L, (long)(await orphans.ExecuteScalarAsync())!);
        }
        finally
        {
            await cluster.StopAndDeleteAsync();
        }
    }
}
