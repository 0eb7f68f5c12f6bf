using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using static Sealpost.Store.Sqlite.SqliteExtensions;

namespace Sealpost.Store.Sqlite;

internal sealed class SqliteMailStore(SqliteStore store) : IMailStore
{
    private const string MailboxColumns = "id, account_id, parent_id, name_key, name_sealed, role, uid_validity, uid_next, highest_modseq, message_count, total_size, subscribed, recent_uid";
    private const string MessageColumns = "mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq, wrapped_key";

    public Task<Mailbox> CreateMailboxAsync(long accountId, long parentId, byte[] nameKey, byte[] sealedName, MailboxRole role, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            if (parentId != 0)
            {
                var parent = ReadMailbox(ctx, parentId) ?? throw SealpostException.NotFound("parent mailbox does not exist");
                if (parent.AccountId != accountId)
                {
                    throw new SealpostException(ErrorKind.Forbidden, "parent mailbox belongs to another account");
                }
            }

            var uidValidity = NextUidValidity(ctx);
            try
            {
                var id = ctx.Command("""
                    INSERT INTO mailboxes(account_id, parent_id, name_key, name_sealed, role, uid_validity, uid_next, highest_modseq)
                    VALUES ($a, $p, $k, $n, $r, $v, 1, 1) RETURNING id
                    """).With("$a", accountId).With("$p", parentId).With("$k", nameKey).With("$n", sealedName).With("$r", (int)role).With("$v", (long)uidValidity).Scalar();
                ctx.Notifications.Add(new MailboxChanged(accountId, id, 1, ChangeKinds.MailboxCreated));
                return new Mailbox(id, accountId, parentId, nameKey, sealedName, role, uidValidity, 1, 1, 0, 0, false);
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw SealpostException.Conflict(role != MailboxRole.None ? "a mailbox with that name or role already exists" : "a mailbox with that name already exists");
            }
        }, cancellationToken);

    /// <summary>UIDVALIDITY: seconds since the epoch, but always above any value handed out before (RFC 9051 §2.3.1.1).</summary>
    private static uint NextUidValidity(WriteContext ctx)
    {
        var last = ctx.Command("SELECT value FROM meta WHERE key = 'last_uid_validity'").ExecuteScalar() is string s ? long.Parse(s, CultureInfo.InvariantCulture) : 0;
        var next = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), last + 1);
        if (next > uint.MaxValue)
        {
            throw SealpostException.Limit("UIDVALIDITY space exhausted");
        }

        ctx.Command("INSERT INTO meta(key, value) VALUES ('last_uid_validity', $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .With("$v", next.ToString(CultureInfo.InvariantCulture)).ExecuteNonQuery();
        return (uint)next;
    }

    public Task<Mailbox?> GetMailboxAsync(long mailboxId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {MailboxColumns} FROM mailboxes WHERE id = $id").With("$id", mailboxId).ReadOne(MapMailbox), cancellationToken);

    public Task<Mailbox?> FindMailboxAsync(long accountId, long parentId, byte[] nameKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {MailboxColumns} FROM mailboxes WHERE account_id = $a AND parent_id = $p AND name_key = $k")
            .With("$a", accountId).With("$p", parentId).With("$k", nameKey).ReadOne(MapMailbox), cancellationToken);

    public Task<Mailbox?> FindMailboxByRoleAsync(long accountId, MailboxRole role, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {MailboxColumns} FROM mailboxes WHERE account_id = $a AND role = $r")
            .With("$a", accountId).With("$r", (int)role).ReadOne(MapMailbox), cancellationToken);

    public Task<IReadOnlyList<Mailbox>> ListMailboxesAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Mailbox>>(c => c.Sql($"SELECT {MailboxColumns} FROM mailboxes WHERE account_id = $a ORDER BY id")
            .With("$a", accountId).ReadAll(MapMailbox), cancellationToken);

    public Task RenameMailboxAsync(long mailboxId, long newParentId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var mailbox = ReadMailbox(ctx, mailboxId) ?? throw SealpostException.NotFound("mailbox does not exist");
            // A mailbox cannot become its own descendant.
            for (var p = newParentId; p != 0;)
            {
                if (p == mailboxId)
                {
                    throw SealpostException.Invalid("a mailbox cannot be moved under itself");
                }

                var parent = ReadMailbox(ctx, p) ?? throw SealpostException.NotFound("new parent mailbox does not exist");
                if (parent.AccountId != mailbox.AccountId)
                {
                    throw new SealpostException(ErrorKind.Forbidden, "new parent belongs to another account");
                }

                p = parent.ParentId;
            }

            try
            {
                ctx.Command("UPDATE mailboxes SET parent_id = $p, name_key = $k, name_sealed = $n WHERE id = $id")
                    .With("$p", newParentId).With("$k", nameKey).With("$n", sealedName).With("$id", mailboxId).ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw SealpostException.Conflict("a mailbox with that name already exists");
            }

            ctx.Notifications.Add(new MailboxChanged(mailbox.AccountId, mailboxId, mailbox.HighestModSeq, ChangeKinds.MailboxRenamed));
            return 0;
        }, cancellationToken);

    public Task SetSubscribedAsync(long mailboxId, bool subscribed, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var mailbox = ReadMailbox(ctx, mailboxId) ?? throw SealpostException.NotFound("mailbox does not exist");
            ctx.Command("UPDATE mailboxes SET subscribed = $s WHERE id = $id").With("$s", subscribed ? 1 : 0).With("$id", mailboxId).ExecuteNonQuery();
            ctx.Notifications.Add(new MailboxChanged(mailbox.AccountId, mailboxId, mailbox.HighestModSeq, ChangeKinds.SubscriptionChanged));
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<DetachedSubscription>> ListDetachedSubscriptionsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<DetachedSubscription>>(c => c.Sql("SELECT name_key, name_sealed FROM detached_subscriptions WHERE account_id = $a")
            .With("$a", accountId).ReadAll(r => new DetachedSubscription((byte[])r[0], (byte[])r[1])), cancellationToken);

    public Task AddDetachedSubscriptionAsync(long accountId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("INSERT INTO detached_subscriptions(account_id, name_key, name_sealed) VALUES ($a, $k, $n) ON CONFLICT DO NOTHING")
            .With("$a", accountId).With("$k", nameKey).With("$n", sealedName).ExecuteNonQuery(), cancellationToken);

    public async Task<bool> RemoveDetachedSubscriptionAsync(long accountId, byte[] nameKey, CancellationToken cancellationToken = default) =>
        await store.WriteAsync(ctx => ctx.Command("DELETE FROM detached_subscriptions WHERE account_id = $a AND name_key = $k")
            .With("$a", accountId).With("$k", nameKey).ExecuteNonQuery(), cancellationToken) > 0;

    public Task DeleteMailboxAsync(long mailboxId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => MailRules.RunSynchronously(MailRules.DeleteMailboxAsync(new Rows(ctx), mailboxId)), cancellationToken);

    public async Task<IReadOnlyList<AppendResult>> DeliverAsync(NewBlob blob, IReadOnlyList<NewMessage> targets, CancellationToken cancellationToken = default)
    {
        if (targets.Count == 0)
        {
            throw SealpostException.Invalid("a delivery needs at least one mailbox");
        }

        if (blob.Length < 0)
        {
            throw SealpostException.Invalid("blob length is negative");
        }

        byte[]? inline = null;
        string? fileName = null;
        if (blob.Length <= store.Options.InlineBlobMaxBytes)
        {
            inline = new byte[blob.Length];
            await blob.Content.ReadExactlyAsync(inline, cancellationToken);
        }
        else
        {
            // Durable before the row that points to it can commit.
            fileName = BlobFiles.NewName();
            try
            {
                await store.Files.WriteDurablyAsync(fileName, blob.Content, blob.Length, cancellationToken);
            }
            catch (IOException ex)
            {
                store.Files.TryDelete(fileName);
                throw new SealpostException(ErrorKind.TemporarilyUnavailable, "cannot write the blob", ex);
            }
        }

        try
        {
            return await store.WriteAsync(ctx =>
            {
                var blobId = ctx.Command("INSERT INTO blobs(refcount, size, inline_data, file_name, created_at) VALUES ($r, $s, $d, $f, $t) RETURNING id")
                    .With("$r", targets.Count).With("$s", blob.Length).With("$d", inline).With("$f", fileName).With("$t", Now()).Scalar();
                if (blob.Metadata is not null)
                {
                    ctx.Command("INSERT INTO blob_metadata(blob_id, metadata) VALUES ($b, $m)").With("$b", blobId).With("$m", blob.Metadata).ExecuteNonQuery();
                }

                return MailRules.RunSynchronously(MailRules.AppendAsync(new Rows(ctx), blobId, blob.ContentLength, targets));
            }, cancellationToken);
        }
        catch
        {
            if (fileName is not null)
            {
                store.Files.TryDelete(fileName);
            }

            throw;
        }
    }

    public Task<CopyResult> CopyMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => MailRules.RunSynchronously(MailRules.CopyAsync(new Rows(ctx), sourceMailboxId, uids, destinationMailboxId, move: false)), cancellationToken);

    public Task<CopyResult> MoveMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => MailRules.RunSynchronously(MailRules.CopyAsync(new Rows(ctx), sourceMailboxId, uids, destinationMailboxId, move: true)), cancellationToken);

    public Task<IReadOnlyList<MessageRecord>> ListMessagesAsync(long mailboxId, UidRange range, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<MessageRecord>>(c =>
            c.Sql($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $m AND uid BETWEEN $a AND $b ORDER BY uid")
                .With("$m", mailboxId).With("$a", (long)range.First).With("$b", (long)range.Last).ReadAll(MapMessage),
            cancellationToken);

    public Task<(uint[] Uids, uint FirstUnseen)> ListUidsAsync(long mailboxId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c =>
        {
            using var tx = c.BeginTransaction(deferred: true);
            var uids = new List<uint>();
            var list = c.Sql("SELECT uid FROM messages WHERE mailbox_id = $m ORDER BY uid").With("$m", mailboxId);
            list.Transaction = tx;
            using (var reader = list.ExecuteReader())
            {
                while (reader.Read())
                {
                    uids.Add((uint)reader.GetInt64(0));
                }
            }

            var unseen = c.Sql($"SELECT min(uid) FROM messages WHERE mailbox_id = $m AND (flags & {(int)MessageFlags.Seen}) = 0").With("$m", mailboxId);
            unseen.Transaction = tx;
            var first = unseen.ExecuteScalar();
            tx.Commit();
            return (uids.ToArray(), first is long f ? (uint)f : 0u);
        }, cancellationToken);

    public Task<uint> ClaimRecentAsync(long mailboxId, uint throughUid, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var before = (uint)(ctx.Command("SELECT recent_uid FROM mailboxes WHERE id = $m").With("$m", mailboxId).ReadAll(r => (long?)r.GetInt64(0)).FirstOrDefault()
                ?? throw SealpostException.NotFound("mailbox does not exist"));
            if (before <= throughUid)
            {
                ctx.Command("UPDATE mailboxes SET recent_uid = $u WHERE id = $m").With("$u", (long)throughUid + 1).With("$m", mailboxId).ExecuteNonQuery();
            }

            return before;
        }, cancellationToken);

    public Task<MessageRecord?> GetMessageAsync(long mailboxId, uint uid, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $m AND uid = $u")
            .With("$m", mailboxId).With("$u", (long)uid).ReadOne(MapMessage), cancellationToken);

    public Task<FlagChangeResult> ChangeFlagsAsync(long mailboxId, IReadOnlyList<uint> uids, FlagChange change, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => MailRules.RunSynchronously(MailRules.ChangeFlagsAsync(new Rows(ctx), mailboxId, uids, change)), cancellationToken);

    public Task<ExpungeResult> ExpungeAsync(long mailboxId, IReadOnlyList<uint> uids, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => MailRules.RunSynchronously(MailRules.ExpungeAsync(new Rows(ctx), mailboxId, uids)), cancellationToken);

    public Task<ChangeSet> GetChangesAsync(long mailboxId, long sinceModSeq, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c =>
        {
            // One read transaction so the three reads see the same snapshot (WAL).
            using var tx = c.BeginTransaction(deferred: true);
            var highest = c.Sql("SELECT highest_modseq, changes_pruned_modseq FROM mailboxes WHERE id = $m").With("$m", mailboxId);
            highest.Transaction = tx;
            var row = highest.ReadOne(r => new[] { r.GetInt64(0), r.GetInt64(1) }) ?? throw SealpostException.NotFound("mailbox does not exist");
            var (value, pruned) = (row[0], row[1]);
            var changed = c.Sql($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $m AND modseq > $q ORDER BY uid").With("$m", mailboxId).With("$q", sinceModSeq);
            changed.Transaction = tx;
            var expunged = c.Sql($"SELECT DISTINCT uid FROM mail_changes WHERE mailbox_id = $m AND kind = {(int)ChangeRowKind.Expunged} AND modseq > $q ORDER BY uid").With("$m", mailboxId).With("$q", sinceModSeq);
            expunged.Transaction = tx;
            var result = new ChangeSet(mailboxId, sinceModSeq, value, changed.ReadAll(MapMessage), expunged.ReadAll(r => (uint)r.GetInt64(0)), pruned);
            tx.Commit();
            return result;
        }, cancellationToken);

    public Task<int> PruneChangesAsync(DateTimeOffset before, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var cutoff = before.ToUnixTimeSeconds();
            ctx.Command("""
                UPDATE mailboxes SET changes_pruned_modseq = max(changes_pruned_modseq,
                    (SELECT max(modseq) FROM mail_changes c WHERE c.mailbox_id = mailboxes.id AND c.at < $t))
                WHERE id IN (SELECT DISTINCT mailbox_id FROM mail_changes WHERE at < $t)
                """).With("$t", cutoff).ExecuteNonQuery();
            return ctx.Command("DELETE FROM mail_changes WHERE at < $t").With("$t", cutoff).ExecuteNonQuery();
        }, cancellationToken);

    // One node serves a SQLite folder: leases are the process's, keyed by database and account.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, long), byte> Leases = new();

    public Task<IAsyncDisposable?> TryLeaseAccountAsync(long accountId, CancellationToken cancellationToken = default)
    {
        var key = (store.DataDirectory, accountId);
        return Task.FromResult<IAsyncDisposable?>(Leases.TryAdd(key, 0) ? new Lease(() => Leases.TryRemove(key, out _)) : null);
    }

    private sealed class Lease(Action release) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                release();
            }

            return ValueTask.CompletedTask;
        }
    }

    public Task UpdateWrappedKeysAsync(long mailboxId, IReadOnlyList<(uint Uid, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            foreach (var (uid, wrapped) in keys)
            {
                ctx.Command("UPDATE messages SET wrapped_key = $w WHERE mailbox_id = $m AND uid = $u")
                    .With("$w", wrapped).With("$m", mailboxId).With("$u", (long)uid).ExecuteNonQuery();
            }

            return 0;
        }, cancellationToken);

    public Task<int> ReplaceWrappedKeysAsync(long mailboxId, IReadOnlyList<(uint Uid, byte[] Expected, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => keys.Sum(k =>
            ctx.Command("UPDATE messages SET wrapped_key = $w WHERE mailbox_id = $m AND uid = $u AND wrapped_key = $e")
                .With("$w", k.WrappedKey).With("$m", mailboxId).With("$u", (long)k.Uid).With("$e", k.Expected).ExecuteNonQuery()), cancellationToken);

    public Task RekeyMailboxAsync(long mailboxId, byte[] nameKey, byte[] sealedName, IReadOnlyList<(uint Uid, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            if (ctx.Command("UPDATE mailboxes SET name_key = $k, name_sealed = $n WHERE id = $id").With("$k", nameKey).With("$n", sealedName).With("$id", mailboxId).ExecuteNonQuery() == 0)
            {
                throw SealpostException.NotFound("mailbox does not exist");
            }

            foreach (var (uid, wrapped) in keys)
            {
                ctx.Command("UPDATE messages SET wrapped_key = $w WHERE mailbox_id = $m AND uid = $u")
                    .With("$w", wrapped).With("$m", mailboxId).With("$u", (long)uid).ExecuteNonQuery();
            }

            return 0;
        }, cancellationToken);

    public Task UpdateKeywordAsync(int keywordId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE keywords SET name_key = $k, name_sealed = $n WHERE id = $id")
            .With("$k", nameKey).With("$n", sealedName).With("$id", keywordId).ExecuteNonQuery(), cancellationToken);

    public Task<Keyword> GetOrCreateKeywordAsync(long accountId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            ctx.Command("INSERT INTO keywords(account_id, name_key, name_sealed) VALUES ($a, $k, $n) ON CONFLICT(account_id, name_key) DO NOTHING")
                .With("$a", accountId).With("$k", nameKey).With("$n", sealedName).ExecuteNonQuery();
            return ctx.Command("SELECT id, account_id, name_key, name_sealed FROM keywords WHERE account_id = $a AND name_key = $k")
                .With("$a", accountId).With("$k", nameKey).ReadOne(MapKeyword)!;
        }, cancellationToken);

    public Task<IReadOnlyList<Keyword>> ListKeywordsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Keyword>>(c => c.Sql("SELECT id, account_id, name_key, name_sealed FROM keywords WHERE account_id = $a ORDER BY id")
            .With("$a", accountId).ReadAll(MapKeyword), cancellationToken);

    public Task<QuotaUsage> GetUsageAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT coalesce(sum(total_size), 0), coalesce(sum(message_count), 0) FROM mailboxes WHERE account_id = $a")
            .With("$a", accountId).ReadAll(r => new QuotaUsage(r.GetInt64(0), r.GetInt64(1)))[0], cancellationToken);

    public async Task<Stream> OpenBlobAsync(long blobId, CancellationToken cancellationToken = default)
    {
        var row = await store.ReadAsync(c => c.Sql("SELECT inline_data, file_name FROM blobs WHERE id = $b").With("$b", blobId)
            .ReadOne(r => new { Data = r.IsDBNull(0) ? null : r.GetFieldValue<byte[]>(0), File = r.IsDBNull(1) ? null : r.GetString(1) }), cancellationToken)
            ?? throw SealpostException.NotFound("the message no longer exists"); // expunged meanwhile; no internal id goes out
        if (row.Data is not null)
        {
            return new MemoryStream(row.Data, writable: false);
        }

        try
        {
            return new FileStream(store.Files.PathOf(row.File!), FileMode.Open, FileAccess.Read, FileShare.Read, 65536, FileOptions.Asynchronous | FileOptions.RandomAccess);
        }
        catch (FileNotFoundException ex)
        {
            throw new SealpostException(ErrorKind.NotFound, $"blob {blobId} is missing its file", ex);
        }
    }

    public Task<byte[]?> GetBlobMetadataAsync(long blobId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT metadata FROM blob_metadata WHERE blob_id = $b").With("$b", blobId).ExecuteScalar() as byte[], cancellationToken);

    public Task<IReadOnlyList<(uint Uid, byte[] Metadata)>> ListSealedMetadataAsync(long mailboxId, UidRange range, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<(uint, byte[])>>(c =>
            c.Sql("""
                SELECT m.uid, b.metadata
                FROM messages m JOIN blob_metadata b ON b.blob_id = m.blob_id
                WHERE m.mailbox_id = $m AND m.uid BETWEEN $a AND $b ORDER BY m.uid
                """).With("$m", mailboxId).With("$a", (long)range.First).With("$b", (long)range.Last)
                .ReadAll(r => ((uint)r.GetInt64(0), r.GetFieldValue<byte[]>(1))),
            cancellationToken);

    public async Task<SweepResult> SweepOrphansAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        var rows = await store.WriteAsync(ctx =>
        {
            var files = ctx.Command("DELETE FROM blobs WHERE refcount <= 0 RETURNING file_name").ReadAll(r => r.IsDBNull(0) ? null : r.GetString(0));
            ctx.FilesToDelete.AddRange(files.OfType<string>());
            return files.Count;
        }, cancellationToken);

        var cutoff = DateTime.UtcNow - grace;
        var candidates = store.Files.Enumerate().Where(f => f.LastWriteUtc < cutoff).Select(f => f.Name).ToList();
        var removed = 0;
        foreach (var chunk in candidates.Chunk(500))
        {
            var known = await store.ReadAsync(c => c.Sql("SELECT file_name FROM blobs WHERE file_name IN (SELECT value FROM json_each($names))")
                .With("$names", JsonSerializer.Serialize(chunk)).ReadAll(r => r.GetString(0)).ToHashSet(StringComparer.Ordinal), cancellationToken);
            foreach (var name in chunk.Where(n => !known.Contains(n)))
            {
                store.Files.TryDelete(name);
                removed++;
            }
        }

        return new SweepResult(rows, removed);
    }

    private static List<MessageRecord> SelectMessages(WriteContext ctx, long mailboxId, IReadOnlyList<uint> uids) =>
        ctx.Command($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $m AND uid IN (SELECT value FROM json_each($uids)) ORDER BY uid")
            .With("$m", mailboxId).With("$uids", JsonSerializer.Serialize(uids)).ReadAll(MapMessage);

    private static Mailbox? ReadMailbox(WriteContext ctx, long mailboxId) =>
        ctx.Command($"SELECT {MailboxColumns} FROM mailboxes WHERE id = $id").With("$id", mailboxId).ReadOne(MapMailbox);

    private static string EncodeKeywords(IReadOnlyList<int> keywords) =>
        keywords.Count == 0 ? "" : string.Join(',', keywords.Distinct().Order().Select(k => k.ToString(CultureInfo.InvariantCulture)));

    private static int[] DecodeKeywords(string text) =>
        text.Length == 0 ? [] : text.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    private static Mailbox MapMailbox(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetFieldValue<byte[]>(3), r.GetFieldValue<byte[]>(4), (MailboxRole)r.GetInt32(5),
        (uint)r.GetInt64(6), (uint)r.GetInt64(7), r.GetInt64(8), r.GetInt32(9), r.GetInt64(10), r.GetInt64(11) != 0, (uint)r.GetInt64(12));

    private static MessageRecord MapMessage(SqliteDataReader r) => new(
        r.GetInt64(0), (uint)r.GetInt64(1), r.GetInt64(2), (MessageFlags)r.GetInt32(3), DecodeKeywords(r.GetString(4)),
        Time(r.GetInt64(5)), r.GetInt64(6), r.GetInt64(7), r.IsDBNull(8) ? null : r.GetFieldValue<byte[]>(8));

    private static Keyword MapKeyword(SqliteDataReader r) => new((int)r.GetInt64(0), r.GetInt64(1), r.GetFieldValue<byte[]>(2), r.GetFieldValue<byte[]>(3));
    /// <summary>The rows <see cref="MailRules"/> works on, inside the writer's transaction; every call completes synchronously.</summary>
    private sealed class Rows(WriteContext ctx) : IMailRows
    {
        public ValueTask<Mailbox?> LockMailboxAsync(long mailboxId) => new(ReadMailbox(ctx, mailboxId));

        public ValueTask<List<MessageRecord>> LockMessagesAsync(long mailboxId, IReadOnlyList<uint> uids) => new(SelectMessages(ctx, mailboxId, uids));

        public ValueTask<(long AccountId, long Uid, long ModSeq)?> TakeUidAsync(long mailboxId, long size) =>
            new(ctx.Command("""
                UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
                       message_count = message_count + 1, total_size = total_size + $s
                WHERE id = $m RETURNING account_id, uid_next - 1, highest_modseq
                """).With("$m", mailboxId).With("$s", size).ReadAll(r => ((long, long, long)?)(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2))).FirstOrDefault());

        public ValueTask<long> NextModSeqAsync(long mailboxId, int removedMessages, long removedSize) =>
            new(ctx.Command("""
                UPDATE mailboxes SET highest_modseq = highest_modseq + 1, message_count = message_count - $c, total_size = total_size - $s
                WHERE id = $m RETURNING highest_modseq
                """).With("$c", removedMessages).With("$s", removedSize).With("$m", mailboxId).Scalar());

        public ValueTask InsertMessageAsync(long mailboxId, uint uid, long blobId, MessageFlags flags, IReadOnlyList<int> keywords, DateTimeOffset internalDate, long size, long modseq, byte[]? wrappedKey)
        {
            ctx.Command("""
                INSERT INTO messages(mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq, wrapped_key)
                VALUES ($m, $u, $b, $f, $k, $d, $s, $q, $w)
                """).With("$m", mailboxId).With("$u", (long)uid).With("$b", blobId).With("$f", (int)flags).With("$k", EncodeKeywords(keywords))
                .With("$d", internalDate.ToUnixTimeMilliseconds()).With("$s", size).With("$q", modseq).With("$w", wrappedKey).ExecuteNonQuery();
            return ValueTask.CompletedTask;
        }

        public ValueTask UpdateFlagsAsync(long mailboxId, uint uid, MessageFlags flags, IReadOnlyList<int> keywords, long modseq)
        {
            ctx.Command("UPDATE messages SET flags = $f, keywords = $k, modseq = $q WHERE mailbox_id = $m AND uid = $u")
                .With("$f", (int)flags).With("$k", EncodeKeywords(keywords)).With("$q", modseq).With("$m", mailboxId).With("$u", (long)uid).ExecuteNonQuery();
            return ValueTask.CompletedTask;
        }

        public ValueTask DeleteMessagesAsync(long mailboxId, IReadOnlyList<uint> uids)
        {
            ctx.Command("DELETE FROM messages WHERE mailbox_id = $m AND uid IN (SELECT value FROM json_each($uids))")
                .With("$m", mailboxId).With("$uids", JsonSerializer.Serialize(uids)).ExecuteNonQuery();
            return ValueTask.CompletedTask;
        }

        public ValueTask<bool> HasChildrenAsync(long mailboxId) =>
            new(ctx.Command("SELECT count(*) FROM mailboxes WHERE parent_id = $id").With("$id", mailboxId).Scalar() > 0);

        public ValueTask DeleteMailboxRowAsync(long mailboxId)
        {
            ctx.Command("DELETE FROM mail_changes WHERE mailbox_id = $m").With("$m", mailboxId).ExecuteNonQuery();
            ctx.Command("DELETE FROM mailboxes WHERE id = $m").With("$m", mailboxId).ExecuteNonQuery();
            return ValueTask.CompletedTask;
        }

        public ValueTask<IReadOnlyList<long>> DeleteAllMessagesAsync(long mailboxId) =>
            new(ctx.Command("DELETE FROM messages WHERE mailbox_id = $m RETURNING blob_id").With("$m", mailboxId).ReadAll(r => r.GetInt64(0)));

        public ValueTask LogChangesAsync(long mailboxId, long modseq, IReadOnlyList<uint> uids, ChangeRowKind kind)
        {
            var at = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            foreach (var uid in uids)
            {
                ctx.Command("INSERT INTO mail_changes(mailbox_id, modseq, uid, kind, at) VALUES ($m, $q, $u, $k, $t)")
                    .With("$m", mailboxId).With("$q", modseq).With("$u", (long)uid).With("$k", (int)kind).With("$t", at).ExecuteNonQuery();
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask AddBlobReferenceAsync(long blobId)
        {
            ctx.Command("UPDATE blobs SET refcount = refcount + 1 WHERE id = $b").With("$b", blobId).ExecuteNonQuery();
            return ValueTask.CompletedTask;
        }

        public ValueTask<long> DropBlobReferencesAsync(long blobId, int count) =>
            new(ctx.Command("UPDATE blobs SET refcount = refcount - $n WHERE id = $b RETURNING refcount")
                .With("$n", count).With("$b", blobId).ReadAll(r => r.GetInt64(0)).FirstOrDefault());

        public ValueTask DeleteBlobAsync(long blobId)
        {
            var file = ctx.Command("DELETE FROM blobs WHERE id = $b RETURNING file_name").With("$b", blobId).ReadAll(r => r.IsDBNull(0) ? null : r.GetString(0)).FirstOrDefault();
            if (file is not null)
            {
                ctx.FilesToDelete.Add(file);
            }

            return ValueTask.CompletedTask;
        }

        public void Notify(MailboxChanged change) => ctx.Notifications.Add(change);
    }
}
