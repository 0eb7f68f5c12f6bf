using Sealpost.Core;
using Sealpost.Core.Storage;
using static Sealpost.Store.Postgres.Cx;

namespace Sealpost.Store.Postgres;

internal sealed class PostgresQueueStore(PostgresStore store) : IQueueStore
{
    public Task<long> EnqueueAsync(byte[] sealedMessage, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) =>
        {
            var now = Now();
            return c.Long("INSERT INTO queue(sealed, created_at, next_attempt_at, attempts) VALUES ($1, $2, $2, 0) RETURNING id", sealedMessage, now);
        }, cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> ListAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<QueuedMessage>>(async c => await c.All("SELECT id, sealed, created_at, next_attempt_at, attempts FROM queue ORDER BY id",
            r => new QueuedMessage(r.GetInt64(0), (byte[])r[1], Time(r.GetInt64(2)), Time(r.GetInt64(3)), r.GetInt32(4))), cancellationToken);

    public Task RemoveAsync(long id, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) => await c.Execute("DELETE FROM queue WHERE id = $1", id) == 0
            ? throw SealpostException.NotFound($"no queued message {id}") : 0, cancellationToken);
}
