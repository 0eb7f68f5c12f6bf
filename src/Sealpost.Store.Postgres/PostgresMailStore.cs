using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using static Sealpost.Store.Postgres.Cx;

namespace Sealpost.Store.Postgres;

internal sealed class PostgresMailStore(PostgresStore store) : IMailStore
{
    private const string MailboxColumns = "id, account_id, parent_id, name_key, name_sealed, role, uid_validity, uid_next, highest_modseq, message_count, total_size, subscribed, recent_uid";
    private const string MessageColumns = "mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq, wrapped_key";

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public Task<Mailbox> CreateMailboxAsync(long accountId, long parentId, byte[] nameKey, byte[] sealedName, MailboxRole role, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, notes) =>
        {
            if (parentId != 0)
            {
                var parent = await ReadMailboxAsync(c, parentId) ?? throw SealpostException.NotFound("parent mailbox does not exist");
                if (parent.AccountId != accountId)
                {
                    throw new SealpostException(ErrorKind.Forbidden, "parent mailbox belongs to another account");
                }
            }

            // UIDVALIDITY: seconds since the epoch, but always above any value handed out before (RFC 9051 §2.3.1.1).
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var uidValidity = long.Parse((string)(await c.Scalar("""
                INSERT INTO meta(key, value) VALUES ('last_uid_validity', $1)
                ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value::bigint + 1, $1::bigint)::text RETURNING value
                """, now))!, CultureInfo.InvariantCulture);
            if (uidValidity > uint.MaxValue)
            {
                throw SealpostException.Limit("UIDVALIDITY space exhausted");
            }

            try
            {
                var id = await c.Long("""
                    INSERT INTO mailboxes(account_id, parent_id, name_key, name_sealed, role, uid_validity, uid_next, highest_modseq)
                    VALUES ($1, $2, $3, $4, $5, $6, 1, 1) RETURNING id
                    """, accountId, parentId, nameKey, sealedName, (int)role, uidValidity);
                notes.Add(new MailboxChanged(accountId, id, 1, ChangeKinds.MailboxCreated));
                return new Mailbox(id, accountId, parentId, nameKey, sealedName, role, (uint)uidValidity, 1, 1, 0, 0, false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw SealpostException.Conflict(role != MailboxRole.None ? "a mailbox with that name or role already exists" : "a mailbox with that name already exists");
            }
        }, cancellationToken);

    public Task<Mailbox?> GetMailboxAsync(long mailboxId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => ReadMailboxAsync(c, mailboxId), cancellationToken);

    public Task<Mailbox?> FindMailboxAsync(long accountId, long parentId, byte[] nameKey, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One($"SELECT {MailboxColumns} FROM mailboxes WHERE account_id = $1 AND parent_id = $2 AND name_key = $3", MapMailbox, accountId, parentId, nameKey), cancellationToken);

    public Task<Mailbox?> FindMailboxByRoleAsync(long accountId, MailboxRole role, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One($"SELECT {MailboxColumns} FROM mailboxes WHERE account_id = $1 AND role = $2", MapMailbox, accountId, (int)role), cancellationToken);

    public Task<IReadOnlyList<Mailbox>> ListMailboxesAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Mailbox>>(async c => await c.All($"SELECT {MailboxColumns} FROM mailboxes WHERE account_id = $1 ORDER BY id", MapMailbox, accountId), cancellationToken);

    public Task RenameMailboxAsync(long mailboxId, long newParentId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, notes) =>
        {
            var mailbox = await ReadMailboxAsync(c, mailboxId, lockRow: true) ?? throw SealpostException.NotFound("mailbox does not exist");
            for (var p = newParentId; p != 0;)
            {
                if (p == mailboxId)
                {
                    throw SealpostException.Invalid("a mailbox cannot be moved under itself");
                }

                var parent = await ReadMailboxAsync(c, p) ?? throw SealpostException.NotFound("new parent mailbox does not exist");
                if (parent.AccountId != mailbox.AccountId)
                {
                    throw new SealpostException(ErrorKind.Forbidden, "new parent belongs to another account");
                }

                p = parent.ParentId;
            }

            try
            {
                await c.Execute("UPDATE mailboxes SET parent_id = $1, name_key = $2, name_sealed = $3 WHERE id = $4", newParentId, nameKey, sealedName, mailboxId);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw SealpostException.Conflict("a mailbox with that name already exists");
            }

            notes.Add(new MailboxChanged(mailbox.AccountId, mailboxId, mailbox.HighestModSeq, ChangeKinds.MailboxRenamed));
            return 0;
        }, cancellationToken);

    public Task SetSubscribedAsync(long mailboxId, bool subscribed, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, notes) =>
        {
            var mailbox = await ReadMailboxAsync(c, mailboxId, lockRow: true) ?? throw SealpostException.NotFound("mailbox does not exist");
            await c.Execute("UPDATE mailboxes SET subscribed = $1 WHERE id = $2", subscribed, mailboxId);
            notes.Add(new MailboxChanged(mailbox.AccountId, mailboxId, mailbox.HighestModSeq, ChangeKinds.SubscriptionChanged));
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<DetachedSubscription>> ListDetachedSubscriptionsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<DetachedSubscription>>(async c => await c.All("SELECT name_key, name_sealed FROM detached_subscriptions WHERE account_id = $1",
            r => new DetachedSubscription((byte[])r[0], (byte[])r[1]), accountId), cancellationToken);

    public Task AddDetachedSubscriptionAsync(long accountId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) =>
        {
            await c.Execute("INSERT INTO detached_subscriptions(account_id, name_key, name_sealed) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", accountId, nameKey, sealedName);
            return 0;
        }, cancellationToken);

    public async Task<bool> RemoveDetachedSubscriptionAsync(long accountId, byte[] nameKey, CancellationToken cancellationToken = default) =>
        await store.WriteAsync(async (c, _) => await c.Execute("DELETE FROM detached_subscriptions WHERE account_id = $1 AND name_key = $2", accountId, nameKey), cancellationToken) > 0;

    public Task DeleteMailboxAsync(long mailboxId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, notes) => await MailRules.DeleteMailboxAsync(new Rows(c, notes), mailboxId), cancellationToken);

    public async Task<IReadOnlyList<AppendResult>> DeliverAsync(NewBlob blob, IReadOnlyList<NewMessage> targets, CancellationToken cancellationToken = default)
    {
        if (targets.Count == 0)
        {
            throw SealpostException.Invalid("a delivery needs at least one mailbox");
        }

        if (blob.Length is < 0 or > int.MaxValue)
        {
            throw SealpostException.Invalid("blob length out of range");
        }

        // A blob made from one array (every delivery) is sent as it is; a stream is read into one.
        var data = blob.Bytes ?? new byte[blob.Length];
        if (blob.Bytes is null)
        {
            await blob.Content.ReadExactlyAsync(data, cancellationToken);
        }
        // Blob and rows commit in one transaction (shared with other deliveries of this node: group commit).
        return await store.Deliveries.SubmitAsync(data, blob.Metadata, blob.ContentLength, targets, cancellationToken);
    }

    // The common case in one statement: blob, UID/MODSEQ allocation (the mailbox row lock), message
    // row and change-log entry as data-modifying CTEs. No row back: the mailbox is gone or out of UIDs.
    private const string SingleTargetDelivery = """
        WITH b AS (INSERT INTO blobs(refcount, size, data, metadata, created_at) VALUES (1, $1, $2, $3, $4) RETURNING id),
             m AS (UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
                          message_count = message_count + 1, total_size = total_size + $10
                   WHERE id = $5 AND uid_next < 4294967295 RETURNING account_id, uid_next - 1 AS uid, highest_modseq),
             msg AS (INSERT INTO messages(mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq, wrapped_key)
                     SELECT $5, m.uid, b.id, $6, $7, $8, $10, m.highest_modseq, $9 FROM b, m),
             ch AS (INSERT INTO mail_changes(mailbox_id, modseq, uid, kind, at) SELECT $5, m.highest_modseq, m.uid, 0, $4 FROM m)
        SELECT b.id, m.account_id, m.uid, m.highest_modseq FROM b, m
        """;

    private static object?[] SingleTargetArguments(PostgresDeliveryBatcher.Pending pending)
    {
        var t = pending.Targets[0];
        return [pending.Data.LongLength, pending.Data, pending.Metadata ?? (object)Null(NpgsqlDbType.Bytea), Now(), t.MailboxId,
            (int)t.Flags, t.KeywordIds.Distinct().Order().ToArray(), t.InternalDate.ToUnixTimeMilliseconds(), t.WrappedKey ?? (object)Null(NpgsqlDbType.Bytea), pending.ContentLength];
    }

    private static AppendResult SingleTargetResult(List<MailboxChanged> notes, NewMessage t, NpgsqlDataReader r)
    {
        notes.Add(new MailboxChanged(r.GetInt64(1), t.MailboxId, r.GetInt64(3), ChangeKinds.Appended));
        return new AppendResult(t.MailboxId, (uint)r.GetInt64(2), r.GetInt64(3), r.GetInt64(0));
    }

    /// <summary>
    /// A batch of deliveries inside one transaction. When each goes to one mailbox (the usual inbound
    /// case) all of them travel to the server in one round trip; a delivery whose mailbox is gone
    /// fails the batch, and the batcher then retries each alone.
    /// </summary>
    internal static async Task<IReadOnlyList<IReadOnlyList<AppendResult>>> DeliverManyAsync(Cx c, List<MailboxChanged> notes, IReadOnlyList<PostgresDeliveryBatcher.Pending> batch)
    {
        if (batch.Count == 1 || batch.Any(p => p.Targets.Count != 1))
        {
            var each = new List<IReadOnlyList<AppendResult>>(batch.Count);
            foreach (var pending in batch)
            {
                each.Add(await DeliverOneAsync(c, notes, pending));
            }

            return each;
        }

        await using var statements = c.Batch();
        foreach (var pending in batch)
        {
            statements.BatchCommands.Add(Cx.BatchCommand(SingleTargetDelivery, SingleTargetArguments(pending)));
        }

        var results = new List<IReadOnlyList<AppendResult>>(batch.Count);
        await using var reader = await statements.ExecuteReaderAsync(c.Token);
        foreach (var pending in batch)
        {
            if (!await reader.ReadAsync(c.Token))
            {
                throw SealpostException.NotFound("a mailbox cannot take the delivery");
            }

            results.Add([SingleTargetResult(notes, pending.Targets[0], reader)]);
            await reader.NextResultAsync(c.Token);
        }

        return results;
    }

    /// <summary>One delivery inside a (possibly shared) transaction.</summary>
    internal static async Task<IReadOnlyList<AppendResult>> DeliverOneAsync(Cx c, List<MailboxChanged> notes, PostgresDeliveryBatcher.Pending pending)
    {
        var targets = pending.Targets;
        var length = pending.Data.LongLength;
        if (targets.Count == 1)
        {
            await using (var command = c.Command(SingleTargetDelivery, SingleTargetArguments(pending)))
            await using (var reader = await command.ExecuteReaderAsync(c.Token))
            {
                if (await reader.ReadAsync(c.Token))
                {
                    return [SingleTargetResult(notes, targets[0], reader)];
                }
            }

            // No row: the general path below names the reason (the blob inserted by the CTE is
            // rolled back with the failing transaction).
        }

        var blobId = await c.Long("INSERT INTO blobs(refcount, size, data, metadata, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            targets.Count, length, pending.Data, pending.Metadata ?? (object)Null(NpgsqlDbType.Bytea), Now());
        return await MailRules.AppendAsync(new Rows(c, notes), blobId, pending.ContentLength, targets);
    }

    public Task<CopyResult> CopyMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, notes) => await MailRules.CopyAsync(new Rows(c, notes), sourceMailboxId, uids, destinationMailboxId, move: false), cancellationToken);

    public Task<CopyResult> MoveMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, notes) => await MailRules.CopyAsync(new Rows(c, notes), sourceMailboxId, uids, destinationMailboxId, move: true), cancellationToken);

    public Task<IReadOnlyList<MessageRecord>> ListMessagesAsync(long mailboxId, UidRange range, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<MessageRecord>>(async c => await c.All($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid",
            MapMessage, mailboxId, (long)range.First, (long)range.Last), cancellationToken);

    public Task<(uint[] Uids, uint FirstUnseen)> ListUidsAsync(long mailboxId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async c =>
        {
            // One statement, so both answers come from the same snapshot.
            var row = await c.One(
                "SELECT coalesce(array_agg(uid ORDER BY uid), '{}'), coalesce(min(uid) FILTER (WHERE flags & " + (int)MessageFlags.Seen + " = 0), 0) FROM messages WHERE mailbox_id = $1",
                r => Tuple.Create(r.GetFieldValue<long[]>(0), r.GetInt64(1)), mailboxId);
            return (row!.Item1.Select(u => (uint)u).ToArray(), (uint)row.Item2);
        }, cancellationToken);

    public Task<uint> ClaimRecentAsync(long mailboxId, uint throughUid, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            // The old value comes from the locked row read in the same statement.
            var before = await c.One("""
                UPDATE mailboxes m SET recent_uid = GREATEST(o.recent_uid, $2) FROM (SELECT id, recent_uid FROM mailboxes WHERE id = $1 FOR UPDATE) o
                WHERE m.id = o.id RETURNING o.recent_uid
                """, r => new[] { r.GetInt64(0) }, mailboxId, (long)throughUid + 1) ?? throw SealpostException.NotFound("mailbox does not exist");
            return (uint)before[0];
        }, cancellationToken);

    public Task<MessageRecord?> GetMessageAsync(long mailboxId, uint uid, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $1 AND uid = $2", MapMessage, mailboxId, (long)uid), cancellationToken);

    public Task<FlagChangeResult> ChangeFlagsAsync(long mailboxId, IReadOnlyList<uint> uids, FlagChange change, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, notes) => await MailRules.ChangeFlagsAsync(new Rows(c, notes), mailboxId, uids, change), cancellationToken);

    public Task<ExpungeResult> ExpungeAsync(long mailboxId, IReadOnlyList<uint> uids, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, notes) => await MailRules.ExpungeAsync(new Rows(c, notes), mailboxId, uids), cancellationToken);

    public Task<ChangeSet> GetChangesAsync(long mailboxId, long sinceModSeq, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            // One transaction (REPEATABLE READ would be stricter; reading the mailbox row first bounds what we report).
            var row = await c.One("SELECT highest_modseq, changes_pruned_modseq FROM mailboxes WHERE id = $1 FOR SHARE", r => new[] { r.GetInt64(0), r.GetInt64(1) }, mailboxId)
                ?? throw SealpostException.NotFound("mailbox does not exist");
            var changed = await c.All($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", MapMessage, mailboxId, sinceModSeq);
            var expunged = await c.All("SELECT DISTINCT uid FROM mail_changes WHERE mailbox_id = $1 AND kind = " + (int)ChangeRowKind.Expunged + " AND modseq > $2 ORDER BY uid", r => (uint)r.GetInt64(0), mailboxId, sinceModSeq);
            return new ChangeSet(mailboxId, sinceModSeq, row[0], changed, expunged, row[1]);
        }, cancellationToken);

    public Task<int> PruneChangesAsync(DateTimeOffset before, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            var cutoff = before.ToUnixTimeSeconds();
            await c.Execute("""
                UPDATE mailboxes m SET changes_pruned_modseq = GREATEST(m.changes_pruned_modseq, p.pruned)
                FROM (SELECT mailbox_id, max(modseq) AS pruned FROM mail_changes WHERE at < $1 GROUP BY mailbox_id) p
                WHERE m.id = p.mailbox_id
                """, cutoff);
            return await c.Execute("DELETE FROM mail_changes WHERE at < $1", cutoff);
        }, cancellationToken);

    public Task UpdateWrappedKeysAsync(long mailboxId, IReadOnlyList<(uint Uid, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) =>
        {
            // One statement for the whole batch (a first read of a large folder re-wraps thousands), in UID order.
            var ordered = keys.OrderBy(k => k.Uid).ToList();
            await c.Execute("""
                UPDATE messages m SET wrapped_key = v.k
                FROM unnest($2::bigint[], $3::bytea[]) AS v(uid, k)
                WHERE m.mailbox_id = $1 AND m.uid = v.uid
                """, mailboxId, ordered.Select(k => (long)k.Uid).ToArray(), ordered.Select(k => k.WrappedKey).ToArray());
            return 0;
        }, cancellationToken);

    public Task<int> ReplaceWrappedKeysAsync(long mailboxId, IReadOnlyList<(uint Uid, byte[] Expected, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) =>
        {
            var ordered = keys.OrderBy(k => k.Uid).ToList();
            return await c.Execute("""
                UPDATE messages m SET wrapped_key = v.k
                FROM unnest($2::bigint[], $3::bytea[], $4::bytea[]) AS v(uid, e, k)
                WHERE m.mailbox_id = $1 AND m.uid = v.uid AND m.wrapped_key = v.e
                """, mailboxId, ordered.Select(k => (long)k.Uid).ToArray(), ordered.Select(k => k.Expected).ToArray(), ordered.Select(k => k.WrappedKey).ToArray());
        }, cancellationToken);

    public Task<IAsyncDisposable?> TryLeaseAccountAsync(long accountId, CancellationToken cancellationToken = default) => store.TryLeaseAccountAsync(accountId, cancellationToken);

    public Task RekeyMailboxAsync(long mailboxId, byte[] nameKey, byte[] sealedName, IReadOnlyList<(uint Uid, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) =>
        {
            if (await c.Execute("UPDATE mailboxes SET name_key = $1, name_sealed = $2 WHERE id = $3", nameKey, sealedName, mailboxId) == 0)
            {
                throw SealpostException.NotFound("mailbox does not exist");
            }

            foreach (var (uid, wrapped) in keys)
            {
                await c.Execute("UPDATE messages SET wrapped_key = $1 WHERE mailbox_id = $2 AND uid = $3", wrapped, mailboxId, (long)uid);
            }

            return 0;
        }, cancellationToken);

    public Task<Keyword> GetOrCreateKeywordAsync(long accountId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            await c.Execute("INSERT INTO keywords(account_id, name_key, name_sealed) VALUES ($1, $2, $3) ON CONFLICT (account_id, name_key) DO NOTHING", accountId, nameKey, sealedName);
            return (await c.One("SELECT id, account_id, name_key, name_sealed FROM keywords WHERE account_id = $1 AND name_key = $2", MapKeyword, accountId, nameKey))!;
        }, cancellationToken);

    public Task UpdateKeywordAsync(int keywordId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => c.Execute("UPDATE keywords SET name_key = $1, name_sealed = $2 WHERE id = $3", nameKey, sealedName, keywordId), cancellationToken);

    public Task<IReadOnlyList<Keyword>> ListKeywordsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Keyword>>(async c => await c.All("SELECT id, account_id, name_key, name_sealed FROM keywords WHERE account_id = $1 ORDER BY id", MapKeyword, accountId), cancellationToken);

    public Task<QuotaUsage> GetUsageAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async c => (await c.All("SELECT coalesce(sum(total_size), 0)::bigint, coalesce(sum(message_count), 0)::bigint FROM mailboxes WHERE account_id = $1",
            r => new QuotaUsage(r.GetInt64(0), r.GetInt64(1)), accountId))[0], cancellationToken);

    public async Task<Stream> OpenBlobAsync(long blobId, CancellationToken cancellationToken = default)
    {
        var data = await store.ReadAsync(async c => await c.Scalar("SELECT data FROM blobs WHERE id = $1", blobId) as byte[], cancellationToken)
            ?? throw SealpostException.NotFound("the message no longer exists"); // expunged meanwhile; no internal id goes out
        return new MemoryStream(data, writable: false);
    }

    public Task<byte[]?> GetBlobMetadataAsync(long blobId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async c => await c.Scalar("SELECT metadata FROM blobs WHERE id = $1", blobId) as byte[], cancellationToken);

    public Task<IReadOnlyList<(uint Uid, byte[] Metadata)>> ListSealedMetadataAsync(long mailboxId, UidRange range, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<(uint, byte[])>>(async c => await c.All("""
            SELECT m.uid, b.metadata
            FROM messages m JOIN blobs b ON b.id = m.blob_id
            WHERE m.mailbox_id = $1 AND m.uid BETWEEN $2 AND $3 AND b.metadata IS NOT NULL ORDER BY m.uid
            """, r => ((uint)r.GetInt64(0), (byte[])r[1]), mailboxId, (long)range.First, (long)range.Last), cancellationToken);

    /// <summary>Blobs live in the database, so the only orphans are rows whose count reached zero without being deleted.</summary>
    public async Task<SweepResult> SweepOrphansAsync(TimeSpan grace, CancellationToken cancellationToken = default) =>
        new(await store.WriteAsync((c, _) => c.Execute("DELETE FROM blobs WHERE refcount <= 0"), cancellationToken), 0);

    private static Task<List<MessageRecord>> SelectMessagesAsync(Cx c, long mailboxId, IReadOnlyList<uint> uids) =>
        c.All($"SELECT {MessageColumns} FROM messages WHERE mailbox_id = $1 AND uid = ANY($2) ORDER BY uid FOR UPDATE", MapMessage, mailboxId, uids.Select(u => (long)u).ToArray());

    private static Task<Mailbox?> ReadMailboxAsync(Cx c, long mailboxId, bool lockRow = false) =>
        c.One($"SELECT {MailboxColumns} FROM mailboxes WHERE id = $1" + (lockRow ? " FOR UPDATE" : ""), MapMailbox, mailboxId);

    private static Mailbox MapMailbox(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), (byte[])r[3], (byte[])r[4], (MailboxRole)r.GetInt32(5),
        (uint)r.GetInt64(6), (uint)r.GetInt64(7), r.GetInt64(8), r.GetInt32(9), r.GetInt64(10), r.GetBoolean(11), (uint)r.GetInt64(12));

    private static MessageRecord MapMessage(NpgsqlDataReader r) => new(
        r.GetInt64(0), (uint)r.GetInt64(1), r.GetInt64(2), (MessageFlags)r.GetInt32(3), (int[])r[4],
        Time(r.GetInt64(5)), r.GetInt64(6), r.GetInt64(7), r.IsDBNull(8) ? null : (byte[])r[8]);

    private static Keyword MapKeyword(NpgsqlDataReader r) => new(r.GetInt32(0), r.GetInt64(1), (byte[])r[2], (byte[])r[3]);
    /// <summary>The rows <see cref="MailRules"/> works on, inside one PostgreSQL transaction; row locks are held until commit.</summary>
    private sealed class Rows(Cx c, List<MailboxChanged> notes) : IMailRows
    {
        public async ValueTask<Mailbox?> LockMailboxAsync(long mailboxId) => await ReadMailboxAsync(c, mailboxId, lockRow: true);

        public async ValueTask<List<MessageRecord>> LockMessagesAsync(long mailboxId, IReadOnlyList<uint> uids) => await SelectMessagesAsync(c, mailboxId, uids);

        public async ValueTask<(long AccountId, long Uid, long ModSeq)?> TakeUidAsync(long mailboxId, long size)
        {
            var row = await c.One("""
                UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
                       message_count = message_count + 1, total_size = total_size + $2
                WHERE id = $1 RETURNING account_id, uid_next - 1, highest_modseq
                """, r => new[] { r.GetInt64(0), r.GetInt64(1), r.GetInt64(2) }, mailboxId, size);
            return row is null ? null : (row[0], row[1], row[2]);
        }

        public async ValueTask<long> NextModSeqAsync(long mailboxId, int removedMessages, long removedSize) =>
            await c.Long("""
                UPDATE mailboxes SET highest_modseq = highest_modseq + 1, message_count = message_count - $2, total_size = total_size - $3
                WHERE id = $1 RETURNING highest_modseq
                """, mailboxId, removedMessages, removedSize);

        public async ValueTask InsertMessageAsync(long mailboxId, uint uid, long blobId, MessageFlags flags, IReadOnlyList<int> keywords, DateTimeOffset internalDate, long size, long modseq, byte[]? wrappedKey) =>
            await c.Execute("""
                INSERT INTO messages(mailbox_id, uid, blob_id, flags, keywords, internal_date, size, modseq, wrapped_key)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """, mailboxId, (long)uid, blobId, (int)flags, keywords.Distinct().Order().ToArray(), internalDate.ToUnixTimeMilliseconds(), size, modseq,
                wrappedKey ?? (object)Null(NpgsqlDbType.Bytea));

        public async ValueTask UpdateFlagsAsync(long mailboxId, uint uid, MessageFlags flags, IReadOnlyList<int> keywords, long modseq) =>
            await c.Execute("UPDATE messages SET flags = $1, keywords = $2, modseq = $3 WHERE mailbox_id = $4 AND uid = $5",
                (int)flags, keywords.Distinct().Order().ToArray(), modseq, mailboxId, (long)uid);

        public async ValueTask DeleteMessagesAsync(long mailboxId, IReadOnlyList<uint> uids) =>
            await c.Execute("DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2)", mailboxId, uids.Select(u => (long)u).ToArray());

        public async ValueTask<bool> HasChildrenAsync(long mailboxId) =>
            await c.Long("SELECT count(*) FROM mailboxes WHERE parent_id = $1", mailboxId) > 0;

        public async ValueTask DeleteMailboxRowAsync(long mailboxId)
        {
            await c.Execute("DELETE FROM mail_changes WHERE mailbox_id = $1", mailboxId);
            await c.Execute("DELETE FROM mailboxes WHERE id = $1", mailboxId);
        }

        public async ValueTask<IReadOnlyList<long>> DeleteAllMessagesAsync(long mailboxId) =>
            await c.All("DELETE FROM messages WHERE mailbox_id = $1 RETURNING blob_id", r => r.GetInt64(0), mailboxId);

        public async ValueTask LogChangesAsync(long mailboxId, long modseq, IReadOnlyList<uint> uids, ChangeRowKind kind)
        {
            if (uids.Count == 1)
            {
                await c.Execute("INSERT INTO mail_changes(mailbox_id, modseq, uid, kind, at) VALUES ($1, $2, $3, $4, $5)", mailboxId, modseq, (long)uids[0], (int)kind, Now());
                return;
            }

            await c.Execute("INSERT INTO mail_changes(mailbox_id, modseq, uid, kind, at) SELECT $1, $2, u, $3, $5 FROM unnest($4::bigint[]) AS u",
                mailboxId, modseq, (int)kind, uids.Select(u => (long)u).ToArray(), Now());
        }

        public async ValueTask AddBlobReferenceAsync(long blobId) => await c.Execute("UPDATE blobs SET refcount = refcount + 1 WHERE id = $1", blobId);

        public async ValueTask<long> DropBlobReferencesAsync(long blobId, int count) =>
            await c.Scalar("UPDATE blobs SET refcount = refcount - $1 WHERE id = $2 RETURNING refcount", count, blobId) is int refs ? refs : 0;

        public async ValueTask DeleteBlobAsync(long blobId) => await c.Execute("DELETE FROM blobs WHERE id = $1", blobId);

        public void Notify(MailboxChanged change) => notes.Add(change);
    }
}
