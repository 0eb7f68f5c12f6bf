using System.Threading.Channels;
using Sealpost.Core;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;

namespace Sealpost.Store.Postgres;

/// <summary>
/// Group commit for deliveries on PostgreSQL: deliveries queued on this node are written several
/// per transaction, so they share one commit (one WAL flush) and one hold of a busy mailbox's row
/// lock, instead of each paying both. A few loops run side by side so deliveries to different
/// mailboxes still proceed in parallel; a delivery goes to the loop its (first) mailbox hashes to,
/// so one busy mailbox is never fought over by several loops of this node, and its batch grows while
/// the previous commit is in flight. If a batch fails, its deliveries are retried one by one, so
/// one bad delivery (a mailbox deleted meanwhile) fails alone and the others still commit.
/// </summary>
internal sealed class PostgresDeliveryBatcher : IAsyncDisposable
{
    private const int MaxBatch = 64;
    private const int Loops = 4;

    private readonly Channel<Pending>[] _queues = Enumerable.Range(0, Loops)
        .Select(_ => Channel.CreateBounded<Pending>(new BoundedChannelOptions(2_500) { FullMode = BoundedChannelFullMode.Wait })).ToArray();
    private readonly Func<Cx, List<MailboxChanged>, Pending, Task<IReadOnlyList<AppendResult>>> _deliver;
    private readonly Func<Cx, List<MailboxChanged>, IReadOnlyList<Pending>, Task<IReadOnlyList<IReadOnlyList<AppendResult>>>> _deliverMany;
    private readonly PostgresStore _store;
    private readonly Task[] _loops;

    public PostgresDeliveryBatcher(
        PostgresStore store,
        Func<Cx, List<MailboxChanged>, Pending, Task<IReadOnlyList<AppendResult>>> deliver,
        Func<Cx, List<MailboxChanged>, IReadOnlyList<Pending>, Task<IReadOnlyList<IReadOnlyList<AppendResult>>>> deliverMany)
    {
        _store = store;
        _deliver = deliver;
        _deliverMany = deliverMany;
        _loops = _queues.Select(queue => Task.Run(() => RunAsync(queue.Reader))).ToArray();
    }

    internal sealed record Pending(byte[] Data, byte[]? Metadata, long ContentLength, IReadOnlyList<NewMessage> Targets, CancellationToken Cancellation)
    {
        public TaskCompletionSource<IReadOnlyList<AppendResult>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<IReadOnlyList<AppendResult>> SubmitAsync(byte[] data, byte[]? metadata, long contentLength, IReadOnlyList<NewMessage> targets, CancellationToken ct)
    {
        var pending = new Pending(data, metadata, contentLength, targets, ct);
        try
        {
            var shard = (int)((ulong)targets.Min(t => t.MailboxId) % Loops);
            await _queues[shard].Writer.WriteAsync(pending, ct);
        }
        catch (ChannelClosedException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the store is shutting down");
        }

        return await pending.Done.Task;
    }

    private async Task RunAsync(ChannelReader<Pending> queue)
    {
        var batch = new List<Pending>(MaxBatch);
        while (await queue.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.TryRead(out var next))
            {
                if (next.Cancellation.IsCancellationRequested)
                {
                    next.Done.TrySetCanceled(next.Cancellation);
                }
                else
                {
                    batch.Add(next);
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            // Deliveries in ascending order of their first mailbox: batches on different nodes lock alike.
            batch.Sort((a, b) => a.Targets.Min(t => t.MailboxId).CompareTo(b.Targets.Min(t => t.MailboxId)));
            try
            {
                var results = await _store.WriteAsync((c, notes) => _deliverMany(c, notes, batch), CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(results[i]);
                }
            }
            catch (Exception ex) when (batch.Count > 1 && ex is SealpostException { Kind: not ErrorKind.TemporarilyUnavailable })
            {
                // One delivery spoiled the batch: give each its own transaction and its own answer.
                foreach (var pending in batch)
                {
                    try
                    {
                        pending.Done.TrySetResult(await _store.WriteAsync((c, notes) => _deliver(c, notes, pending), CancellationToken.None));
                    }
                    catch (Exception single)
                    {
                        pending.Done.TrySetException(single);
                    }
                }
            }
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(ex);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            queue.Writer.TryComplete();
        }

        await Task.WhenAll(_loops);
    }
}
