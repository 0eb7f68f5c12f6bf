using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Sealpost.Core;
using Sealpost.Core.Storage;

namespace Sealpost.Store.Sqlite;

/// <summary>What a write operation sees: the open transaction, and queues for after-commit work.</summary>
internal sealed class WriteContext(SqliteConnection connection, SqliteTransaction transaction, Dictionary<string, SqliteCommand> statements)
{
    /// <summary>Distinct statement texts kept prepared on the writer's connection; texts beyond it are made per use.</summary>
    public const int MaxStatements = 512;

    public SqliteConnection Connection { get; } = connection;
    public SqliteTransaction Transaction { get; } = transaction;
    public List<MailboxChanged> Notifications { get; } = [];
    public List<string> FilesToDelete { get; } = [];

    private readonly List<SqliteCommand> _commands = [];

    /// <summary>
    /// A command in the open transaction. One command per statement text lives on the writer's connection
    /// for the whole process, prepared once and given fresh parameters on each use: an operation that
    /// updates 100,000 rows runs one statement 100,000 times instead of making 100,000 commands.
    /// (Microsoft.Data.Sqlite tracks every undisposed command of a connection in a list it scans on each
    /// dispose, so many commands cost quadratic time: 57 s for one 100,000-row re-wrap.) Texts past
    /// <see cref="MaxStatements"/> get a command of their own, disposed when the operation ends.
    /// </summary>
    public SqliteCommand Command(string sql)
    {
        if (statements.TryGetValue(sql, out var cached))
        {
            cached.Parameters.Clear();
            cached.Transaction = Transaction;
            return cached;
        }

        var command = Connection.CreateCommand();
        command.Transaction = Transaction;
        command.CommandText = sql;
        if (statements.Count < MaxStatements)
        {
            statements[sql] = command;
        }
        else
        {
            _commands.Add(command);
        }

        return command;
    }

    /// <summary>Disposes the commands of its own the last operation made (disposing one twice is harmless).</summary>
    public void DisposeCommands()
    {
        foreach (var command in _commands)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}

/// <summary>
/// Group commit for SQLite. Writers of this process queue operations; one loop takes whatever is
/// queued (up to a limit), runs each inside its own savepoint of one IMMEDIATE transaction, and
/// commits once: one WAL fsync for the whole batch. An operation that throws rolls back to its
/// savepoint and fails alone. Callers are completed only after COMMIT returned, so "done" means
/// durable (synchronous=FULL). Other processes (the CLI) write through their own writer; SQLite's
/// write lock serialises them, and UIDs are allocated inside the transaction, so that is safe.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly Channel<PendingWrite> _queue = Channel.CreateBounded<PendingWrite>(
        new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal); // the write loop's alone
    private readonly int _maxBatch;
    private readonly IChangeFeed _feed;
    private readonly BlobFiles _files;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stopCheckpoints = new();
    private readonly Task _checkpoints;

    public SqliteWriter(string connectionString, int maxBatch, IChangeFeed feed, BlobFiles files, bool eraseDeletedMail = true)
    {
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        SqliteStore.ConfigureConnection(_connection, writer: true, eraseDeletedMail);
        // The writer never checkpoints itself: SQLite would do it inside a COMMIT every 1,000 WAL pages,
        // copying them into the database and fsyncing it while every writer of that group waits (the
        // p99 of SMTP deliveries). A checkpointer on its own connection does it instead, beside the writes.
        using (var pragma = _connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=67108864"; // and a WAL that grew in a burst shrinks back to 64 MiB
            pragma.ExecuteNonQuery();
        }

        _maxBatch = maxBatch;
        _feed = feed;
        _files = files;
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        _checkpoints = Task.Factory.StartNew(() => CheckpointLoopAsync(connectionString, _stopCheckpoints.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>PASSIVE checkpoints (they never block the writer or readers) four times a second.</summary>
    private long _checkpointRounds;

    /// <summary>Checkpoint rounds the checkpointer has finished (tests wait on it instead of guessing its timing).</summary>
    internal long CheckpointRounds => Interlocked.Read(ref _checkpointRounds);

    private async Task CheckpointLoopAsync(string connectionString, CancellationToken stop)
    {
        await using var connection = new SqliteConnection(connectionString);
        connection.Open();
        await using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(250, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            try
            {
                // Attached here, not before the loop: a store opened and closed at once (a prepare step)
                // may race the attach with its own shutdown, and a failed attach is retried next round
                // rather than failing the store's disposal.
                SqliteStore.AttachKeys(connection); // so keys.db's WAL is checkpointed too
                checkpoint.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // Busy or locked by another process's checkpoint: the next round catches up.
            }

            Interlocked.Increment(ref _checkpointRounds);
        }
    }

    /// <summary>
    /// Raised on the writer's thread right after a batch's COMMIT returned (synchronous=FULL: the WAL is
    /// fsynced) and before any caller of that batch is told it succeeded. Tests use it to prove the order.
    /// </summary>
    public event Action<IReadOnlyList<MailboxChanged>>? Committed;

    public async Task<T> WriteAsync<T>(Func<WriteContext, T> operation, CancellationToken ct)
    {
        var pending = new PendingWrite<T>(operation, ct);
        try
        {
            await _queue.Writer.WriteAsync(pending, ct);
        }
        catch (ChannelClosedException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the store is shutting down");
        }

        return await pending.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingWrite>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var next))
            {
                if (!next.Cancellation.IsCancellationRequested)
                {
                    batch.Add(next);
                }
                else
                {
                    next.Fail(new OperationCanceledException(next.Cancellation));
                }
            }

            if (batch.Count > 0)
            {
                RunBatch(batch);
            }
        }
    }

    private void RunBatch(List<PendingWrite> batch)
    {
        SqliteTransaction transaction;
        try
        {
            transaction = _connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: take the write lock now
        }
        catch (Exception ex)
        {
            var mapped = SqliteErrors.Map(ex);
            foreach (var p in batch)
            {
                p.Fail(mapped);
            }

            return;
        }

        var context = new WriteContext(_connection, transaction, _statements);
        var succeeded = new List<(PendingWrite Write, int NotificationCount, int FileCount)>(batch.Count);
        using (transaction)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var savepoint = "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var notificationMark = context.Notifications.Count;
                var fileMark = context.FilesToDelete.Count;
                try
                {
                    transaction.Save(savepoint);
                    try
                    {
                        batch[i].Run(context);
                    }
                    finally
                    {
                        context.DisposeCommands();
                    }

                    transaction.Release(savepoint);
                    succeeded.Add((batch[i], notificationMark, fileMark));
                }
                catch (Exception ex)
                {
                    context.Notifications.RemoveRange(notificationMark, context.Notifications.Count - notificationMark);
                    context.FilesToDelete.RemoveRange(fileMark, context.FilesToDelete.Count - fileMark);
                    try
                    {
                        transaction.Rollback(savepoint);
                        transaction.Release(savepoint);
                    }
                    catch (SqliteException)
                    {
                        // The transaction itself is broken; COMMIT below fails and fails the others.
                    }

                    batch[i].Fail(SqliteErrors.Map(ex));
                }
            }

            try
            {
                transaction.Commit();
            }
            catch (Exception ex)
            {
                var mapped = SqliteErrors.Map(ex);
                foreach (var (write, _, _) in succeeded)
                {
                    write.Fail(mapped);
                }

                return;
            }
        }

        Committed?.Invoke(context.Notifications);
        foreach (var name in context.FilesToDelete)
        {
            _files.TryDelete(name);
        }

        foreach (var (write, _, _) in succeeded)
        {
            write.Complete();
        }

        foreach (var change in Coalesce(context.Notifications))
        {
            _feed.Publish(change);
        }
    }

    /// <summary>One notification per mailbox (and per changed account) per batch, carrying the newest MODSEQ and all kinds.</summary>
    private static IEnumerable<MailboxChanged> Coalesce(List<MailboxChanged> changes)
    {
        if (changes.Count <= 1)
        {
            return changes;
        }

        return changes
            .GroupBy(c => (c.AccountId, c.MailboxId)) // mailbox 0 is every account's "the account changed"
            .Select(g => new MailboxChanged(g.Key.AccountId, g.Key.MailboxId, g.Max(c => c.HighestModSeq), g.Aggregate(ChangeKinds.None, (k, c) => k | c.Kinds)));
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        if (!_stopCheckpoints.IsCancellationRequested)
        {
            await _stopCheckpoints.CancelAsync(); // the store may be disposed twice; the token source is left to the GC
        }

        await _checkpoints;
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        await _connection.DisposeAsync();
    }

    private abstract class PendingWrite(CancellationToken cancellation)
    {
        public CancellationToken Cancellation { get; } = cancellation;
        public abstract void Run(WriteContext context);
        public abstract void Complete();
        public abstract void Fail(Exception exception);
    }

    private sealed class PendingWrite<T>(Func<WriteContext, T> operation, CancellationToken cancellation) : PendingWrite(cancellation)
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _completion.Task;

        public override void Run(WriteContext context) => _result = operation(context);

        public override void Complete() => _completion.TrySetResult(_result);

        public override void Fail(Exception exception) => _completion.TrySetException(exception);
    }
}

internal static class SqliteErrors
{
    // https://sqlite.org/rescode.html
    private const int Busy = 5, Locked = 6, IoErr = 10, Full = 13, CantOpen = 14, Constraint = 19;

    public static Exception Map(Exception ex) => ex switch
    {
        SealpostException => ex,
        OperationCanceledException => ex,
        SqliteException { SqliteErrorCode: Constraint } s => new SealpostException(ErrorKind.Conflict, "already exists or still in use", s),
        SqliteException { SqliteErrorCode: Busy or Locked or IoErr or Full or CantOpen } s =>
            new SealpostException(ErrorKind.TemporarilyUnavailable, "the store is temporarily unavailable", s),
        _ => ex,
    };
}
