using Microsoft.Data.Sqlite;
using Sealpost.Core;
using Sealpost.Core.Storage;
using static Sealpost.Store.Sqlite.SqliteExtensions;

namespace Sealpost.Store.Sqlite;

/// <summary>
/// The outbound queue on SQLite. Every write runs in the one IMMEDIATE writer transaction, so a
/// claim's select-and-lease is atomic against other processes on the same file (the equivalent of
/// PostgreSQL's FOR UPDATE SKIP LOCKED for one machine).
/// </summary>
internal sealed class SqliteQueueStore(SqliteStore store) : IQueueStore
{
    private const string Columns = "id, sealed, created_at, next_attempt_at, attempts, state, size, progress, lease_owner, lease_until, seal_version";

    public Task<long> EnqueueAsync(Func<long, byte[]> seal, long size, DateTimeOffset now, CancellationToken cancellationToken = default, QueueState state = QueueState.Ready) =>
        store.WriteAsync(ctx =>
        {
            var at = now.ToUnixTimeMilliseconds();
            var id = ctx.Command("INSERT INTO queue(sealed, created_at, next_attempt_at, attempts, size, seal_version, state) VALUES (x'', $t, $t, 0, $n, 2, $s) RETURNING id")
                .With("$t", at).With("$n", size).With("$s", (int)state).Scalar();
            ctx.Command("UPDATE queue SET sealed = $s WHERE id = $id").With("$s", seal(id)).With("$id", id).ExecuteNonQuery();
            return id;
        }, cancellationToken);

    public Task<(int Messages, int Recipients)> CountSendAsync(long accountId, int recipients, DateTimeOffset now, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            ctx.Command("DELETE FROM send_counts WHERE account_id = $a AND at < $old").With("$a", accountId).With("$old", now.AddDays(-1).ToUnixTimeMilliseconds()).ExecuteNonQuery();
            ctx.Command("INSERT INTO send_counts(account_id, at, recipients) VALUES ($a, $t, $r)").With("$a", accountId).With("$t", now.ToUnixTimeMilliseconds()).With("$r", recipients).ExecuteNonQuery();
            using var reader = ctx.Command("SELECT count(*), coalesce(sum(recipients), 0) FROM send_counts WHERE account_id = $a AND at >= $since")
                .With("$a", accountId).With("$since", since.ToUnixTimeMilliseconds()).ExecuteReader();
            reader.Read();
            return (reader.GetInt32(0), reader.GetInt32(1));
        }, cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> ListAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<QueuedMessage>>(c => c.Sql($"SELECT {Columns} FROM queue ORDER BY id").ReadAll(Map), cancellationToken);

    public Task<QueuedMessage?> GetAsync(long id, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {Columns} FROM queue WHERE id = $id").With("$id", id).ReadOne(Map), cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> ClaimAsync(string owner, DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken = default) =>
        store.WriteAsync<IReadOnlyList<QueuedMessage>>(ctx => ctx.Command($"""
                UPDATE queue SET lease_owner = $o, lease_until = $u
                WHERE id IN (SELECT id FROM queue WHERE state = 0 AND next_attempt_at <= $now AND (lease_until IS NULL OR lease_until < $now)
                             ORDER BY next_attempt_at, id LIMIT $max)
                RETURNING {Columns}
                """)
            .With("$o", owner).With("$u", (now + lease).ToUnixTimeMilliseconds()).With("$now", now.ToUnixTimeMilliseconds()).With("$max", max)
            .ReadAll(Map).OrderBy(m => m.NextAttemptAt).ThenBy(m => m.Id).ToList(), cancellationToken);

    public Task<bool> ReleaseAsync(long id, string owner, byte[] progress, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("""
                UPDATE queue SET progress = $p, attempts = $a, next_attempt_at = $n, lease_owner = NULL, lease_until = NULL
                WHERE id = $id AND lease_owner = $o
                """)
            .With("$p", progress).With("$a", attempts).With("$n", nextAttemptAt.ToUnixTimeMilliseconds()).With("$id", id).With("$o", owner)
            .ExecuteNonQuery() == 1, cancellationToken);

    public Task<bool> RenewLeaseAsync(long id, string owner, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE queue SET lease_until = $u WHERE id = $id AND lease_owner = $o")
            .With("$u", until.ToUnixTimeMilliseconds()).With("$id", id).With("$o", owner).ExecuteNonQuery() == 1, cancellationToken);

    public Task<bool> CompleteAsync(long id, string owner, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("DELETE FROM queue WHERE id = $id AND lease_owner = $o").With("$id", id).With("$o", owner).ExecuteNonQuery() == 1,
            cancellationToken);

    public Task SetStateAsync(long id, QueueState state, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE queue SET state = $s, next_attempt_at = coalesce($n, next_attempt_at) WHERE id = $id")
            .With("$s", (int)state).With("$n", nextAttemptAt?.ToUnixTimeMilliseconds()).With("$id", id).ExecuteNonQuery() == 0
            ? throw SealpostException.NotFound($"no queued message {id}") : 0, cancellationToken);

    public Task RemoveAsync(long id, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("DELETE FROM queue WHERE id = $id").With("$id", id).ExecuteNonQuery() == 0
            ? throw SealpostException.NotFound($"no queued message {id}") : 0, cancellationToken);

    private static QueuedMessage Map(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetFieldValue<byte[]>(1), Time(r.GetInt64(2)), Time(r.GetInt64(3)), r.GetInt32(4), (QueueState)r.GetInt32(5), r.GetInt64(6),
        r.IsDBNull(7) ? null : r.GetFieldValue<byte[]>(7), r.IsDBNull(8) ? null : r.GetString(8), r.IsDBNull(9) ? null : Time(r.GetInt64(9)), r.GetInt32(10));
}
