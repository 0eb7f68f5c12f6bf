using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sealpost.Core;
using Sealpost.Core.Audit;

namespace Sealpost.Domain.Audit;

/// <summary>
/// Where logins and deliveries leave their audit events while the audit store cannot be written: a
/// local file of JSON lines, each carrying the SHA-256 of the line before it (a changed or removed
/// line breaks the spool's own chain), fsynced before the event counts as recorded. Bounded by
/// <c>Audit:SpoolMaxEvents</c>; drained into the store, in order, when it answers again.
/// </summary>
public sealed class AuditSpool
{
    public const string FileName = "audit-spool.jsonl";

    private readonly string _path;
    private readonly int _maxEvents;
    private readonly object _lock = new();
    private byte[] _lastHash = AuditRecord.GenesisHash;
    private int _count;

    public AuditSpool(string dataDirectory, int maxEvents)
    {
        _path = Path.Combine(dataDirectory, FileName);
        _maxEvents = maxEvents;
        if (File.Exists(_path))
        {
            foreach (var line in File.ReadLines(_path).Where(l => l.Length > 0))
            {
                _lastHash = SHA256.HashData(Encoding.UTF8.GetBytes(line));
                _count++;
            }
        }
    }

    public int Count { get { lock (_lock) { return _count; } } }

    /// <summary>Appends events and fsyncs; false (nothing written) when they would not fit.</summary>
    public bool TryAppend(IReadOnlyList<AuditEvent> events)
    {
        lock (_lock)
        {
            if (_count + events.Count > _maxEvents)
            {
                return false;
            }

            var text = new StringBuilder();
            var last = _lastHash;
            foreach (var e in events)
            {
                var line = JsonSerializer.Serialize(new SpoolLine(Convert.ToHexString(last), e));
                text.Append(line).Append('\n');
                last = SHA256.HashData(Encoding.UTF8.GetBytes(line));
            }

            using (var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                var bytes = Encoding.UTF8.GetBytes(text.ToString());
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            _lastHash = last;
            _count += events.Count;
            return true;
        }
    }

    /// <summary>The spooled events in order; an error if a line was changed, removed or reordered.</summary>
    public IReadOnlyList<AuditEvent> ReadAll()
    {
        lock (_lock)
        {
            var events = new List<AuditEvent>();
            if (!File.Exists(_path))
            {
                return events;
            }

            var previous = AuditRecord.GenesisHash;
            foreach (var line in File.ReadLines(_path).Where(l => l.Length > 0))
            {
                var entry = JsonSerializer.Deserialize<SpoolLine>(line);
                if (entry?.Event is null || !string.Equals(entry.Prev, Convert.ToHexString(previous), StringComparison.Ordinal))
                {
                    throw new SealpostException(ErrorKind.Conflict, $"the audit spool '{_path}' was altered at entry {events.Count + 1}");
                }

                events.Add(entry.Event);
                previous = SHA256.HashData(Encoding.UTF8.GetBytes(line));
            }

            return events;
        }
    }

    /// <summary>
    /// Empties the spool after its events reached the store. Only the trail's one writer appends and
    /// drains, so nothing can have been spooled between the read and this.
    /// </summary>
    public void Clear()
    {
        lock (_lock)
        {
            File.Delete(_path);
            _lastHash = AuditRecord.GenesisHash;
            _count = 0;
        }
    }

    private sealed record SpoolLine(string Prev, AuditEvent Event);
}
