using Sealpost.Core.Audit;

namespace Sealpost.Domain.Audit;

/// <summary>
/// Keeps nothing: the "audit off" half of the benchmark that measures what auditing costs
/// (<c>Audit:Store=discard-benchmark-only</c>, refused outside a --dev data folder). Hashes are still
/// computed, so only the storing is left out of the comparison.
/// </summary>
public sealed class DiscardingAuditStore : IAuditStore
{
    private long _sequence;
    private byte[] _head = AuditRecord.GenesisHash;
    private readonly Lock _lock = new();

    public Task BackupToAsync(string file, CancellationToken ct = default) => Task.CompletedTask;

    public async Task<bool> AppendSpooledAsync(string node, IReadOnlyList<AuditEvent> events, byte[] spoolKey, CancellationToken ct = default)
    {
        await AppendAsync(node, events, ct);
        return true;
    }

    public Task<IReadOnlyList<AuditRecord>> AppendAsync(string node, IReadOnlyList<AuditEvent> events, CancellationToken ct = default)
    {
        lock (_lock)
        {
            var records = new List<AuditRecord>(events.Count);
            foreach (var e in events)
            {
                var hash = AuditRecord.ComputeHash(++_sequence, node, e, _head);
                records.Add(new AuditRecord(_sequence, node, e, _head, hash));
                _head = hash;
            }

            return Task.FromResult<IReadOnlyList<AuditRecord>>(records);
        }
    }

    public Task<IReadOnlyList<AuditRecord>> ReadAsync(long fromSequence, int limit, CancellationToken ct = default) => Task.FromResult<IReadOnlyList<AuditRecord>>([]);

    public Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct = default) => Task.FromResult<IReadOnlyList<AuditRecord>>([]);

    public Task<AuditRecord?> GetHeadAsync(CancellationToken ct = default) => Task.FromResult<AuditRecord?>(null);

    public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct = default) => Task.CompletedTask;

    public Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct = default) => Task.FromResult<IReadOnlyList<AuditCheckpoint>>([]);

    public Task ProbeAsync(CancellationToken ct = default) => Task.CompletedTask;

    public Task PruneThroughAsync(long throughSequence, CancellationToken ct = default) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
