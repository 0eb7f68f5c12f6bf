using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Audit;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Domain.Audit;

/// <summary>How an event must reach the trail.</summary>
public enum AuditDurability
{
    /// <summary>Administration, roles, credentials, keys: the store must take it, or the caller fails (fail closed).</summary>
    Store,
    /// <summary>Logins, deliveries, refusals: the store, or else the local fsynced spool; fails only when the spool is full.</summary>
    StoreOrSpool,
}

/// <summary>
/// The audit seam every domain service writes through. Events are group-committed by one writer
/// (many concurrent logins cost one transaction); a caller's task completes once its event is durable
/// in the store or, for <see cref="AuditDurability.StoreOrSpool"/>, in the spool. Signed checkpoints
/// are added at an interval and when the trail is disposed.
/// </summary>
public sealed class AuditTrail : IAsyncDisposable
{
    private const int MaxBatch = 2048;

    /// <summary>A batch this large commits without waiting for the group-commit interval.</summary>
    private const int FullBatch = 64;

    private readonly IAuditStore _store;
    private readonly AuditSpool _spool;
    private readonly AuditSigner _signer;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly Task _checkpoints;
    private readonly CancellationTokenSource _stopping = new();
    private long _lastCheckpointSequence = -1;
    private bool _storeDown;
    private readonly TimeSpan _commitInterval;

    public AuditTrail(IAuditStore store, AuditSpool spool, AuditSigner signer, string node, TimeSpan checkpointInterval, ILogger logger, TimeSpan? commitInterval = null)
    {
        _commitInterval = commitInterval ?? TimeSpan.FromMilliseconds(5);
        _store = store;
        _spool = spool;
        _signer = signer;
        _logger = logger;
        Node = node;
        _writer = Task.Run(WriteLoopAsync);
        _checkpoints = Task.Run(() => CheckpointLoopAsync(checkpointInterval));
    }

    /// <summary>This node's name in every record it appends.</summary>
    public string Node { get; }

    public IAuditStore Store => _store;

    /// <summary>The audit key's public half: what checkpoints are verified against.</summary>
    public byte[] PublicKey => _signer.PublicKey;

    /// <summary>Events waiting in the local spool for the store.</summary>
    public int Spooled => _spool.Count;

    /// <summary>Records an event; completes once it is durable. Throws <see cref="ErrorKind.TemporarilyUnavailable"/> when it cannot be kept.</summary>
    public Task RecordAsync(AuditEvent e, AuditDurability durability)
    {
        var pending = new Pending(e, durability, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            return Task.FromException(new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit trail is closed"));
        }

        return pending.Done.Task;
    }

    /// <summary>
    /// For fail-closed actions, before they change anything: the store can take an append now and
    /// nothing is left in the spool. Otherwise the action must not happen.
    /// </summary>
    public async Task EnsureWritableAsync(CancellationToken ct)
    {
        try
        {
            await _store.ProbeAsync(ct);
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit trail is unavailable; administration is refused until it returns", ex);
        }

        if (_spool.Count > 0)
        {
            // Wake the writer so it drains; an empty batch does that.
            await RecordBarrierAsync();
            if (_spool.Count > 0)
            {
                throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit trail is still draining its spool; try again shortly");
            }
        }
    }

    private Task RecordBarrierAsync()
    {
        var pending = new Pending(null, AuditDurability.Store, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _queue.Writer.TryWrite(pending);
        return pending.Done.Task.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Signs the current head now (also done at an interval and at shutdown).</summary>
    public async Task<AuditCheckpoint?> CheckpointAsync(CancellationToken ct = default)
    {
        var head = await _store.GetHeadAsync(ct);
        if (head is null || head.Sequence == Interlocked.Read(ref _lastCheckpointSequence))
        {
            return null;
        }

        var time = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var checkpoint = new AuditCheckpoint(head.Sequence, head.Hash, time, Node, _signer.PublicKey, _signer.Sign(AuditCheckpoint.SignedBytes(head.Sequence, head.Hash, time)));
        await _store.AddCheckpointAsync(checkpoint, ct);
        Interlocked.Exchange(ref _lastCheckpointSequence, head.Sequence);
        return checkpoint;
    }

    /// <summary>Signs and stores a checkpoint at <paramref name="record"/> (an archive boundary).</summary>
    public async Task<AuditCheckpoint> SignAsync(AuditRecord record, CancellationToken ct = default)
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var checkpoint = new AuditCheckpoint(record.Sequence, record.Hash, time, Node, _signer.PublicKey, _signer.Sign(AuditCheckpoint.SignedBytes(record.Sequence, record.Hash, time)));
        await _store.AddCheckpointAsync(checkpoint, ct);
        return checkpoint;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var lastCommit = 0L;
        while (await _queue.Reader.WaitToReadAsync())
        {
            // Group commit: a batch goes as soon as it is full enough to pay for its commit, or once
            // the interval since the previous commit has passed. A lone event after a quiet spell
            // commits at once; a stream of logins shares commits instead of paying one each.
            batch.Clear();
            var deadline = lastCommit + (long)(_commitInterval.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                var remaining = deadline - Stopwatch.GetTimestamp();
                if (batch.Count >= FullBatch || remaining <= 0)
                {
                    break;
                }

                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
                try
                {
                    if (!await _queue.Reader.WaitToReadAsync(wait.Token))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            lastCommit = Stopwatch.GetTimestamp();
            await WriteBatchAsync(batch);
        }
    }

    private async Task WriteBatchAsync(List<Pending> batch)
    {
        var events = batch.Where(p => p.Event is not null).Select(p => p.Event!).ToList();
        Exception cause;
        try
        {
            await DrainSpoolAsync();
            if (events.Count > 0)
            {
                var started = Stopwatch.GetTimestamp();
                await _store.AppendAsync(Node, events);
                Sealpost.Core.Observability.SealpostMetrics.AuditAppendSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            }

            if (_storeDown)
            {
                _storeDown = false;
                DomainLog.AuditStoreBack(_logger);
            }

            foreach (var p in batch)
            {
                p.Done.TrySetResult();
            }

            return;
        }
        catch (Exception ex)
        {
            if (!_storeDown)
            {
                _storeDown = true;
                DomainLog.AuditStoreDown(_logger, ex.GetType().Name);
            }

            cause = ex;
        }

        var unavailable = new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit trail is unavailable", cause);
        var spoolable = batch.Where(p => p.Event is not null && p.Durability == AuditDurability.StoreOrSpool).ToList();
        var spooled = spoolable.Count > 0 && TrySpool(spoolable.Select(p => p.Event!).ToList());
        if (spoolable.Count > 0 && !spooled)
        {
            DomainLog.AuditSpoolFull(_logger, _spool.Count);
        }

        foreach (var p in batch)
        {
            if (p.Event is not null && p.Durability == AuditDurability.StoreOrSpool && spooled)
            {
                p.Done.TrySetResult();
            }
            else
            {
                p.Done.TrySetException(unavailable);
            }
        }
    }

    private bool TrySpool(List<AuditEvent> events)
    {
        try
        {
            return _spool.TryAppend(events);
        }
        catch (IOException ex)
        {
            DomainLog.AuditSpoolFailed(_logger, ex.GetType().Name);
            return false;
        }
    }

    private async Task DrainSpoolAsync()
    {
        if (_spool.Count == 0)
        {
            return;
        }

        // Each batch is named by its last line's hash and the store records that name with the batch:
        // if this process dies after a batch commits and before the spool is removed, the next drain
        // skips what is already in the trail instead of writing it twice.
        var events = _spool.ReadAll();
        var appended = 0;
        for (var i = 0; i < events.Count; i += MaxBatch)
        {
            var batch = events.Skip(i).Take(MaxBatch).ToList();
            if (await _store.AppendSpooledAsync(Node, batch.Select(e => e.Event).ToList(), batch[^1].LineHash))
            {
                appended += batch.Count;
            }
        }

        _spool.Clear();
        DomainLog.AuditSpoolDrained(_logger, appended, events.Count - appended);
    }

    /// <summary>
    /// Once a second: retries the spool's drain while it holds events (the store may be back with
    /// no new event to wake the writer), and signs a checkpoint whenever the interval has passed.
    /// </summary>
    private async Task CheckpointLoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var nextCheckpoint = DateTimeOffset.UtcNow + interval;
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                try
                {
                    if (_spool.Count > 0)
                    {
                        await RecordBarrierAsync();
                    }

                    if (DateTimeOffset.UtcNow >= nextCheckpoint)
                    {
                        nextCheckpoint = DateTimeOffset.UtcNow + interval;
                        await CheckpointAsync(_stopping.Token);
                    }
                }
                catch (Exception ex) when (ex is SealpostException or IOException or InvalidOperationException)
                {
                    DomainLog.AuditCheckpointFailed(_logger, ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        _stopping.Cancel();
        await _checkpoints;
        try
        {
            await CheckpointAsync();
        }
        catch (SealpostException ex)
        {
            DomainLog.AuditCheckpointFailed(_logger, ex.GetType().Name);
        }

        _spool.Dispose();
        _signer.Dispose();
        _stopping.Dispose();
    }

    private sealed record Pending(AuditEvent? Event, AuditDurability Durability, TaskCompletionSource Done);
}
