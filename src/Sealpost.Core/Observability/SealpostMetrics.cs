using System.Diagnostics.Metrics;

namespace Sealpost.Core.Observability;

/// <summary>
/// The server's instruments (System.Diagnostics.Metrics). Tags are bounded sets only (protocol,
/// outcome, queue, role of a folder): never an address, a subject, a folder name or a user name.
/// </summary>
public static class SealpostMetrics
{
    public const string MeterName = "Sealpost";

    public static readonly Meter Meter = new(MeterName);

    /// <summary>Logins of every protocol, by protocol and outcome (success, failure, refused).</summary>
    public static readonly Counter<long> Logins = Meter.CreateCounter<long>("sealpost.logins", description: "Logins by protocol and outcome");

    /// <summary>Sessions opened, by protocol.</summary>
    public static readonly Counter<long> Sessions = Meter.CreateCounter<long>("sealpost.sessions", description: "Sessions opened, by protocol");

    /// <summary>Sessions open now, by protocol.</summary>
    public static readonly UpDownCounter<long> ActiveSessions = Meter.CreateUpDownCounter<long>("sealpost.sessions.active", description: "Sessions open now, by protocol");

    /// <summary>Messages delivered into local mailboxes (one per recipient account).</summary>
    public static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("sealpost.deliveries", description: "Messages delivered into local mailboxes, one per recipient account");

    /// <summary>Messages put on the outbound queue.</summary>
    public static readonly Counter<long> Queued = Meter.CreateCounter<long>("sealpost.queue.enqueued", description: "Messages put on the outbound queue");

    /// <summary>Time from a session's start to its end, by protocol.</summary>
    public static readonly Histogram<double> SessionSeconds = Meter.CreateHistogram<double>("sealpost.session.duration", unit: "s", description: "Session lengths, by protocol");

    /// <summary>Counts a session for its lifetime: opened, open now, and its length when disposed.</summary>
    public static IDisposable Session(string protocol)
    {
        var tag = new KeyValuePair<string, object?>("protocol", protocol);
        Sessions.Add(1, tag);
        ActiveSessions.Add(1, tag);
        return new SessionScope(tag);
    }

    private sealed class SessionScope(KeyValuePair<string, object?> tag) : IDisposable
    {
        private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                ActiveSessions.Add(-1, tag);
                SessionSeconds.Record(System.Diagnostics.Stopwatch.GetElapsedTime(_started).TotalSeconds, tag);
            }
        }
    }
}
