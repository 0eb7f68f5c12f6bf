using Npgsql;
using Sealpost.Core;
using Sealpost.Core.Storage;
using static Sealpost.Store.Postgres.Cx;

namespace Sealpost.Store.Postgres;

/// <summary>The outbound queue on PostgreSQL: claims take rows with FOR UPDATE SKIP LOCKED, so nodes never wait on each other's picks.</summary>
internal sealed class PostgresQueueStore(PostgresStore store) : IQueueStore
{
    private const string Columns = "id, sealed, created_at, next_attempt_at, attempts, state, size, progress, lease_owner, lease_until, seal_version";

    public Task<long> EnqueueAsync(Func<long, byte[]> seal, long size, DateTimeOffset now, CancellationToken cancellationToken = default, QueueState state = QueueState.Ready) =>
        store.WriteAsync(async (c, _) =>
        {
            var id = await c.Long("SELECT nextval(pg_get_serial_sequence('queue', 'id'))");
            await c.Execute("INSERT INTO queue(id, sealed, created_at, next_attempt_at, attempts, size, seal_version, state) VALUES ($1, $2, $3, $3, 0, $4, 2, $5)",
                id, seal(id), now.ToUnixTimeMilliseconds(), size, (int)state);
            return id;
        }, cancellationToken);

    public Task<(int Messages, int Recipients)> CountSendAsync(long accountId, int recipients, DateTimeOffset now, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            // One account's counts are serialised, so two nodes cannot both slip under the limit.
            await c.Execute("SELECT pg_advisory_xact_lock(7141, $1::int)", (int)(accountId & 0x7fffffff));
            await c.Execute("DELETE FROM send_counts WHERE account_id = $1 AND at < $2", accountId, now.AddDays(-1).ToUnixTimeMilliseconds());
            await c.Execute("INSERT INTO send_counts(account_id, at, recipients) VALUES ($1, $2, $3)", accountId, now.ToUnixTimeMilliseconds(), recipients);
            var row = await c.All("SELECT count(*)::int, coalesce(sum(recipients), 0)::int FROM send_counts WHERE account_id = $1 AND at >= $2",
                r => (r.GetInt32(0), r.GetInt32(1)), accountId, since.ToUnixTimeMilliseconds());
            return row[0];
        }, cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> ListAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<QueuedMessage>>(async c => await c.All($"SELECT {Columns} FROM queue ORDER BY id", Map), cancellationToken);

    public Task<QueuedMessage?> GetAsync(long id, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async c => await c.One($"SELECT {Columns} FROM queue WHERE id = $1", Map, id), cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> ClaimAsync(string owner, DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken = default) =>
        store.WriteAsync<IReadOnlyList<QueuedMessage>>(async (c, _) => (await c.All($"""
                UPDATE queue SET lease_owner = $1, lease_until = $2
                WHERE id IN (SELECT id FROM queue WHERE state = 0 AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                             ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                RETURNING {Columns}
                """, Map, owner, (now + lease).ToUnixTimeMilliseconds(), now.ToUnixTimeMilliseconds(), max))
            .OrderBy(m => m.NextAttemptAt).ThenBy(m => m.Id).ToList(), cancellationToken);

    public Task<bool> ReleaseAsync(long id, string owner, byte[] progress, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("""
                UPDATE queue SET progress = $1, attempts = $2, next_attempt_at = $3, lease_owner = NULL, lease_until = NULL
                WHERE id = $4 AND lease_owner = $5
                """, progress, attempts, nextAttemptAt.ToUnixTimeMilliseconds(), id, owner) == 1, cancellationToken);

    public Task<bool> RenewLeaseAsync(long id, string owner, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("UPDATE queue SET lease_until = $1 WHERE id = $2 AND lease_owner = $3", until.ToUnixTimeMilliseconds(), id, owner) == 1, cancellationToken);

    public Task<bool> CompleteAsync(long id, string owner, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("DELETE FROM queue WHERE id = $1 AND lease_owner = $2", id, owner) == 1, cancellationToken);

    public Task SetStateAsync(long id, QueueState state, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) => await c.Execute("UPDATE queue SET state = $1, next_attempt_at = coalesce($2, next_attempt_at) WHERE id = $3",
                (int)state, nextAttemptAt is { } n ? n.ToUnixTimeMilliseconds() : Null(NpgsqlTypes.NpgsqlDbType.Bigint), id) == 0
            ? throw SealpostException.NotFound($"no queued message {id}") : 0, cancellationToken);

    public Task RemoveAsync(long id, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) => await c.Execute("DELETE FROM queue WHERE id = $1", id) == 0
            ? throw SealpostException.NotFound($"no queued message {id}") : 0, cancellationToken);

    private static QueuedMessage Map(NpgsqlDataReader r) => new(
        r.GetInt64(0), (byte[])r[1], Time(r.GetInt64(2)), Time(r.GetInt64(3)), r.GetInt32(4), (QueueState)r.GetInt32(5), r.GetInt64(6),
        r.IsDBNull(7) ? null : (byte[])r[7], r.IsDBNull(8) ? null : r.GetString(8), r.IsDBNull(9) ? null : Time(r.GetInt64(9)), r.GetInt32(10));
}
