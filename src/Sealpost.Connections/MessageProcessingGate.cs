namespace Sealpost.Connections;

/// <summary>
/// Bounds the memory of turning whole messages into sealed ones at once (parsing, trace headers,
/// sender authentication, MIME analysis, sealing): each message waits here, first come first served,
/// until its cost (<see cref="Factor"/> x its size, at most the capacity) fits beside those being
/// processed. One message is always let in, so any message within Limits:MaxMessageBytes gets through.
/// Waiting is bounded by the caller's deadline; a message that cannot start in time is deferred.
/// </summary>
public sealed class MessageProcessingGate(long capacity)
{
    /// <summary>
    /// Octets allocated while one message is processed, per octet of message, measured with
    /// bench/smtp-memory.sh (docs/operations.md): the received copy, the copy with trace headers, the
    /// CRLF form, MimeKit's parse and the sealed segments.
    /// </summary>
    public const int Factor = 5;

    private readonly object _lock = new();
    private readonly LinkedList<(long Cost, TaskCompletionSource Admitted)> _waiting = new();
    private long _used;

    public long Capacity => capacity;

    /// <summary>Messages waiting for room now.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Octets set aside for messages being processed now.</summary>
    public long Used
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    /// <summary>Waits (at most <paramref name="wait"/>) for room to process a message of <paramref name="size"/> octets; null if none came.</summary>
    public async Task<IDisposable?> EnterAsync(long size, TimeSpan wait, CancellationToken ct)
    {
        var cost = Math.Min(capacity, Math.Max(1, size) * Factor);
        LinkedListNode<(long, TaskCompletionSource)> node;
        lock (_lock)
        {
            if (_waiting.Count == 0 && (_used == 0 || _used + cost <= capacity))
            {
                _used += cost;
                return new Admission(this, cost);
            }

            node = _waiting.AddLast((cost, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        }

        try
        {
            await node.Value.Item2.Task.WaitAsync(wait, ct);
            return new Admission(this, cost);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    _waiting.Remove(node);
                    AdmitWaiting();
                    if (ex is OperationCanceledException)
                    {
                        throw;
                    }

                    return null;
                }
            }

            // Admitted just as the wait ended: the room is ours, so hand it back.
            Release(cost);
            if (ex is OperationCanceledException)
            {
                throw;
            }

            return null;
        }
    }

    private void Release(long cost)
    {
        lock (_lock)
        {
            _used -= cost;
            AdmitWaiting();
        }
    }

    // In order: the first waiter goes in when it fits (or nothing else is being processed).
    private void AdmitWaiting()
    {
        while (_waiting.First is { } first && (_used == 0 || _used + first.Value.Cost <= capacity))
        {
            _waiting.RemoveFirst();
            _used += first.Value.Cost;
            first.Value.Admitted.TrySetResult();
        }
    }

    private sealed class Admission(MessageProcessingGate gate, long cost) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release(cost);
            }
        }
    }
}
