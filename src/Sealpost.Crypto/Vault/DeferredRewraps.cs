using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Storage;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// Re-wraps found while reading, written after the read has answered: one background writer takes
/// them in batches (one store call per mailbox per batch), so a FETCH or SEARCH never waits for a
/// write and many first reads share few commits. Nothing depends on them being written: until they
/// are, the row keeps the wrap it had, which still opens (at the price of the slower unwrap). The queue
/// is bounded; what does not fit is found again on a later read. A row whose wrap changed after the read
/// (a key rotation, another node's re-wrap, a refile) keeps its new wrap: only what the read saw is replaced.
/// </summary>
internal sealed class DeferredRewraps : IAsyncDisposable
{
    private const int Capacity = 4096;
    private const int RowsPerBatch = 2048;
    private readonly IMailStore _store;
    private readonly ILogger _logger;
    private readonly Channel<Work> _queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Task _writer;

    public DeferredRewraps(IMailStore store, ILogger logger)
    {
        _store = store;
        _logger = logger;
        _writer = Task.Run(WriteAsync);
    }

    private sealed record Work(long MailboxId, IReadOnlyList<(uint Uid, byte[] Seen, byte[] WrappedKey)> Keys, TaskCompletionSource? Done);

    /// <summary>Hands re-wraps to the writer without waiting (each with the wrap the read saw); dropped when the queue is full.</summary>
    public void Add(long mailboxId, IReadOnlyList<(uint Uid, byte[] Seen, byte[] WrappedKey)> keys)
    {
        if (keys.Count > 0 && !_queue.Writer.TryWrite(new Work(mailboxId, keys, null)))
        {
            VaultLog.RewrapsDropped(_logger, mailboxId, keys.Count);
        }
    }

    /// <summary>Completes once everything handed over before it is written (or has failed and been logged).</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Work(0, [], done)))
        {
            await _queue.Writer.WriteAsync(new Work(0, [], done), ct);
        }

        await done.Task.WaitAsync(ct);
    }

    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            var byMailbox = new Dictionary<long, Dictionary<uint, (byte[] Seen, byte[] WrappedKey)>>();
            var flushes = new List<TaskCompletionSource>();
            var rows = 0;
            while (rows < RowsPerBatch && reader.TryRead(out var work))
            {
                if (work.Done is { } done)
                {
                    flushes.Add(done);
                    break; // everything before the marker is in this batch
                }

                var uids = byMailbox.TryGetValue(work.MailboxId, out var found) ? found : byMailbox[work.MailboxId] = [];
                foreach (var (uid, seen, wrapped) in work.Keys)
                {
                    uids[uid] = (seen, wrapped); // the latest of a row read twice meanwhile
                }

                rows += work.Keys.Count;
            }

            foreach (var (mailboxId, uids) in byMailbox)
            {
                try
                {
                    // Only rows still as the read saw them: a wrap written since (a rotation under a new key) stays.
                    await _store.ReplaceWrappedKeysAsync(mailboxId, uids.OrderBy(u => u.Key).Select(u => (u.Key, u.Value.Seen, u.Value.WrappedKey)).ToList());
                }
                catch (SealpostException ex)
                {
                    // The rows keep their old wraps, which still open; a later read finds them again.
                    VaultLog.RewrapsFailed(_logger, mailboxId, uids.Count, ex.Kind.ToString());
                }
            }

            foreach (var done in flushes)
            {
                done.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }
}
