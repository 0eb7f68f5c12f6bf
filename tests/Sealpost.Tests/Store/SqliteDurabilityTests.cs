using System.Globalization;
using Microsoft.Data.Sqlite;
using Sealpost.Bench;
using Sealpost.Core.Configuration;
using Sealpost.Core.Mail;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Store;

/// <summary>What only the embedded store has: files on disk, WAL settings, and what survives a kill.</summary>
public sealed class SqliteDurabilityTests
{
    [Fact]
    public async Task The_database_runs_in_wal_mode_with_full_synchronous_writes()
    {
        using var folder = new TempFolder();
        await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions());
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(folder.Path, SqliteStore.DatabaseFileName)}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
        // synchronous is per connection: check the writer's by its effect on a new connection configured the same way.
        SqliteStore.ConfigureConnection(connection, writer: true);
        command.CommandText = "PRAGMA synchronous";
        Assert.Equal(2L, command.ExecuteScalar()); // 2 = FULL
    }

    [Fact]
    public async Task The_wal_is_checkpointed_beside_the_writer_not_inside_its_commits()
    {
        using var folder = new TempFolder();
        await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions());
        Assert.Equal(0L, await store.WriterPragmaAsync("wal_autocheckpoint"));

        var tenant = await store.Directory.CreateTenantAsync("t", "T");
        var domain = await store.Directory.AddDomainAsync(tenant.Id, Sealpost.Core.Addressing.DomainName.Parse("example.test"));
        var account = await store.Directory.CreateAccountAsync(new Sealpost.Core.Directory.NewAccount(domain.Id, Sealpost.Core.Addressing.MailAddress.Parse("a@example.test"), "A", 0, Sealpost.Core.Directory.AccountRoles.User));
        var inbox = await store.Mail.CreateMailboxAsync(account.Id, 0, "k"u8.ToArray(), "s"u8.ToArray(), MailboxRole.Inbox);

        // Six rounds of 4 MiB written, with a pause after each: never checkpointed, the WAL would pass 24 MiB.
        var wal = Path.Combine(folder.Path, SqliteStore.DatabaseFileName + "-wal");
        long largest = 0;
        for (var round = 0; round < 6; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < 64; i++)
                {
                    await store.Mail.DeliverAsync(NewBlob.FromBytes(new byte[8 * 1024]), [new NewMessage(inbox.Id, MessageFlags.None, [], DateTimeOffset.UtcNow)]);
                }
            })));
            largest = Math.Max(largest, new FileInfo(wal).Length);
            // Wait for a checkpoint round that began after this round's writes (the second one from now).
            var seen = store.CheckpointRounds;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (store.CheckpointRounds < seen + 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "the checkpointer stopped running");
                await Task.Delay(10);
            }
        }

        Assert.Equal(6 * 8 * 64, (await store.Mail.GetMailboxAsync(inbox.Id))!.MessageCount);
        Assert.True(largest < 12L * 1024 * 1024, $"the WAL grew to {largest} bytes: nothing checkpointed it");
    }

    [Fact]
    public async Task Acknowledged_appends_survive_a_hard_kill_and_in_flight_blob_files_are_swept()
    {
        using var folder = new TempFolder();
        // Every 4th message is 200 KB, so it goes to a blob file: the kill lands among file writes too.
        using (var writer = ChildProcess.Start("Sealpost.Bench",
                   ["append", "--data", folder.Path, "--mailboxes", "3", "--messages", "1000000", "--concurrency", "8", "--size", "3000", "--large-every", "4", "--print-acks"]))
        {
            await writer.WaitForLineAsync(l => l.StartsWith("ack ", StringComparison.Ordinal) && AckCount(writer) >= 300, TimeSpan.FromSeconds(60));
            writer.KillHard();
            var acks = writer.Lines.Where(l => l.StartsWith("ack ", StringComparison.Ordinal)).Select(Parse).ToList();
            Assert.True(acks.Count >= 300);

            await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions());
            foreach (var ack in acks)
            {
                var message = await store.Mail.GetMessageAsync(ack.Mailbox, ack.Uid);
                Assert.NotNull(message);
                await using var blob = await store.Mail.OpenBlobAsync(message.BlobId);
                var bytes = new MemoryStream();
                await blob.CopyToAsync(bytes);
                Assert.Equal(BenchMessages.Content(ack.Index, ack.Size), bytes.ToArray());
            }

            foreach (var mailboxId in acks.Select(a => a.Mailbox).Distinct())
            {
                var mailbox = (await store.Mail.GetMailboxAsync(mailboxId))!;
                var rows = await store.Mail.ListMessagesAsync(mailboxId, UidRange.All);
                Assert.Equal(rows.Count, mailbox.MessageCount);
                Assert.True(rows.All(r => r.Uid < mailbox.UidNext));
            }

            // Blob files written for deliveries that never committed have no row: the sweep removes them
            // and leaves every referenced file.
            await store.Mail.SweepOrphansAsync(TimeSpan.Zero);
            var referenced = await CountFileBlobsAsync(folder.Path);
            Assert.Equal(referenced, Directory.EnumerateFiles(Path.Combine(folder.Path, SqliteStore.BlobFolderName), "*", SearchOption.AllDirectories).Count());
        }
    }

    [Fact]
    public async Task The_sweep_removes_old_orphan_files_and_keeps_young_and_referenced_ones()
    {
        using var folder = new TempFolder();
        await using var store = await SqliteStore.OpenAsync(folder.Path, new StoreOptions { InlineBlobMaxBytes = 10 });
        var tenant = await store.Directory.CreateTenantAsync("t", "t");
        var domain = await store.Directory.AddDomainAsync(tenant.Id, Sealpost.Core.Addressing.DomainName.Parse("example.test"));
        var account = await store.Directory.CreateAccountAsync(new Sealpost.Core.Directory.NewAccount(domain.Id, Sealpost.Core.Addressing.MailAddress.Parse("a@example.test"), "a", 0, Sealpost.Core.Directory.AccountRoles.User));
        var inbox = await store.Mail.CreateMailboxAsync(account.Id, 0, [1], [1], MailboxRole.Inbox);
        var kept = await store.Mail.DeliverAsync(NewBlob.FromBytes(new byte[500]), [new NewMessage(inbox.Id, MessageFlags.None, [], DateTimeOffset.UtcNow)]);

        var blobs = Path.Combine(folder.Path, SqliteStore.BlobFolderName);
        var oldOrphan = Path.Combine(blobs, "aa", "aa" + new string('0', 30));
        var youngOrphan = Path.Combine(blobs, "bb", "bb" + new string('1', 30));
        Directory.CreateDirectory(Path.GetDirectoryName(oldOrphan)!);
        Directory.CreateDirectory(Path.GetDirectoryName(youngOrphan)!);
        await File.WriteAllTextAsync(oldOrphan, "old");
        await File.WriteAllTextAsync(youngOrphan, "young");
        File.SetLastWriteTimeUtc(oldOrphan, DateTime.UtcNow.AddHours(-3));
        // The referenced file is old too: age alone must never remove it.
        foreach (var f in Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories).Where(f => f != oldOrphan && f != youngOrphan))
        {
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-3));
        }

        var result = await store.Mail.SweepOrphansAsync(TimeSpan.FromHours(1));
        Assert.Equal(1, result.FilesRemoved);
        Assert.False(File.Exists(oldOrphan));
        Assert.True(File.Exists(youngOrphan));
        await using var stream = await store.Mail.OpenBlobAsync(kept[0].BlobId);
        Assert.Equal(500, stream.Length);
    }

    private static int AckCount(ChildProcess process) => process.Lines.Count(l => l.StartsWith("ack ", StringComparison.Ordinal));

    private static (long Index, int Size, long Mailbox, uint Uid) Parse(string line)
    {
        var p = line.Split(' ');
        return (long.Parse(p[1], CultureInfo.InvariantCulture), int.Parse(p[2], CultureInfo.InvariantCulture),
            long.Parse(p[3], CultureInfo.InvariantCulture), uint.Parse(p[4], CultureInfo.InvariantCulture));
    }

    private static async Task<long> CountFileBlobsAsync(string folder)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(folder, SqliteStore.DatabaseFileName)}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM blobs WHERE file_name IS NOT NULL";
        return (long)command.ExecuteScalar()!;
    }
}
