using Sealpost.Core;
using Sealpost.Core.Storage;
using static Sealpost.Store.Sqlite.SqliteExtensions;

namespace Sealpost.Store.Sqlite;

internal sealed class SqliteQueueStore(SqliteStore store) : IQueueStore
{
    public Task<long> EnqueueAsync(byte[] sealedMessage, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var now = Now();
            return ctx.Command("INSERT INTO queue(sealed, created_at, next_attempt_at, attempts) VALUES ($s, $t, $t, 0) RETURNING id")
                .With("$s", sealedMessage).With("$t", now).Scalar();
        }, cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> ListAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<QueuedMessage>>(c => c.Sql("SELECT id, sealed, created_at, next_attempt_at, attempts FROM queue ORDER BY id")
            .ReadAll(r => new QueuedMessage(r.GetInt64(0), r.GetFieldValue<byte[]>(1), Time(r.GetInt64(2)), Time(r.GetInt64(3)), r.GetInt32(4))), cancellationToken);

    public Task RemoveAsync(long id, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("DELETE FROM queue WHERE id = $id").With("$id", id).ExecuteNonQuery() == 0
            ? throw SealpostException.NotFound($"no queued message {id}") : 0, cancellationToken);
}
