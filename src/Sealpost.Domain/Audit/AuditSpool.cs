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
/// <para>
/// One process owns a data folder's spool at a time: it holds an exclusive lock on
/// <c>audit-spool.lock</c> for as long as it runs. Another process on the same folder (an
/// administrator's CLI command beside the running server) neither appends to nor drains a spool it
/// does not own, so it cannot fork the spool's chain or take the server's lines from under it; it
/// tries again for ownership each time it would use the spool, so the owner's exit hands it over.
/// </para>
/// </summary>
public sealed class AuditSpool : IDisposable
{
    public const string FileName = "audit-spool.jsonl";
    public const string LockFileName = "audit-spool.lock";

    private readonly string _path;
    private readonly string _lockPath;
    private readonly int _maxEvents;
    private readonly object _lock = new();
    private FileStream? _owner;
    private byte[] _lastHash = AuditRecord.GenesisHash;
    private int _count;

    public AuditSpool(string dataDirectory, int maxEvents)
    {
        _path = Path.Combine(dataDirectory, FileName);
        _lockPath = Path.Combine(dataDirectory, LockFileName);
        _maxEvents = maxEvents;
        lock (_lock)
        {
            TryOwn();
        }
    }

    /// <summary>Whether this process owns the spool now (another process on the folder may).</summary>
    public bool Owned { get { lock (_lock) { return TryOwn(); } } }

    /// <summary>Events in the spool; 0 while another process owns it.</summary>
    public int Count { get { lock (_lock) { return TryOwn() ? _count : 0; } } }

    /// <summary>Takes the spool's lock if free and then reads where its chain ends. Under <see cref="_lock"/>.</summary>
    private bool TryOwn()
    {
        if (_owner is not null)
        {
            return true;
        }

        try
        {
            // FileShare.None is an exclusive advisory lock (flock) between processes on Unix.
            _owner = new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return false;
        }

        _lastHash = AuditRecord.GenesisHash;
        _count = 0;
        if (File.Exists(_path))
        {
            foreach (var line in File.ReadLines(_path).Where(l => l.Length > 0))
            {
                _lastHash = SHA256.HashData(Encoding.UTF8.GetBytes(line));
                _count++;
            }
        }

        return true;
    }

    /// <summary>Appends events and fsyncs; false (nothing written) when they would not fit or another process owns the spool.</summary>
    public bool TryAppend(IReadOnlyList<AuditEvent> events)
    {
        lock (_lock)
        {
            if (!TryOwn() || _count + events.Count > _maxEvents)
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

    /// <summary>
    /// The spooled events in order, each with the SHA-256 of its line (which chains every line before
    /// it, so it names the spool up to there); an error if a line was changed, removed or reordered.
    /// </summary>
    public IReadOnlyList<SpooledEvent> ReadAll()
    {
        lock (_lock)
        {
            var events = new List<SpooledEvent>();
            if (!TryOwn() || !File.Exists(_path))
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

                previous = SHA256.HashData(Encoding.UTF8.GetBytes(line));
                events.Add(new SpooledEvent(entry.Event, previous));
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
            if (_owner is null)
            {
                return;
            }

            File.Delete(_path);
            _lastHash = AuditRecord.GenesisHash;
            _count = 0;
        }
    }

    /// <summary>Gives up ownership; the spool file stays for the next owner to drain.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _owner?.Dispose();
            _owner = null;
        }
    }

    private sealed record SpoolLine(string Prev, AuditEvent Event);
}

/// <summary>An event read back from the spool, with the hash of its line.</summary>
public sealed record SpooledEvent(AuditEvent Event, byte[] LineHash);
