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

    /// <summary>
    /// Time a command took on the server, by protocol and command (IMAP's known commands, SMTP's verbs;
    /// anything else is "other"). SMTP's DATA and BDAT include receiving the message.
    /// </summary>
    public static readonly Histogram<double> CommandSeconds = Meter.CreateHistogram<double>("sealpost.command.duration", unit: "s", description: "Command latency, by protocol and command");

    /// <summary>Commands that failed on our side (store, disk, audit trail), by protocol and cause ("disk full", "store unreachable", "store busy", or an exception type).</summary>
    public static readonly Counter<long> StoreErrors = Meter.CreateCounter<long>("sealpost.store.errors", description: "Commands that failed on the server side, by protocol and cause");

    /// <summary>Time one group commit of the audit trail took (its rows written and committed).</summary>
    public static readonly Histogram<double> ChangeFeedLagSeconds = Meter.CreateHistogram<double>("sealpost.change_feed.lag", unit: "s",
        description: "From a mailbox change's commit on any node to this node hearing of it (PostgreSQL NOTIFY)");

    public static readonly Histogram<double> AuditAppendSeconds = Meter.CreateHistogram<double>("sealpost.audit.append.duration", unit: "s", description: "Audit trail group commits");

    /// <summary>TLS handshakes completed, by protocol and negotiated version (Tls12, Tls13).</summary>
    public static readonly Counter<long> TlsHandshakes = Meter.CreateCounter<long>("sealpost.tls.handshakes", description: "TLS handshakes completed, by protocol and version");

    public static void RecordTlsHandshake(string protocol, System.Net.Security.SslStream ssl) =>
        TlsHandshakes.Add(1, new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("version", ssl.SslProtocol.ToString()));

    public static void RecordCommand(string protocol, string command, long startedTimestamp) =>
        CommandSeconds.Record(System.Diagnostics.Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds,
            new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("command", command));

    public static void RecordStoreError(string protocol, string cause) =>
        StoreErrors.Add(1, new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("cause", cause));

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
