using System.Globalization;
using Npgsql;
using Sealpost.Core.Storage;

namespace Sealpost.Store.Postgres;

/// <summary>
/// Change notifications across nodes: each store LISTENs on one connection and hands what arrives
/// to its local subscribers. Payloads are small ("account,mailbox,modseq,kinds"); a subscriber
/// re-reads the change log, so a notification lost while the listener reconnects costs latency,
/// never correctness.
/// </summary>
internal sealed class PostgresChangeFeed(NpgsqlDataSource dataSource) : IChangeFeed, IAsyncDisposable
{
    private readonly InProcessChangeFeed _local = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _listener;

    public IChangeSubscription Subscribe(long accountId) => _local.Subscribe(accountId);

    /// <summary>Local publication only; commits publish through NOTIFY, which every node (this one included) receives.</summary>
    public void Publish(MailboxChanged change) => _local.Publish(change);

    public void Start() => _listener = Task.Run(ListenAsync);

    /// <summary>Set once the LISTEN is active (tests wait for it before counting on notifications).</summary>
    public TaskCompletionSource Listening { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>"account,mailbox,modseq,kinds,sent-ms": the last field is the committing node's clock, for the lag metric.</summary>
    public static string Encode(MailboxChanged c) =>
        string.Create(CultureInfo.InvariantCulture, $"{c.AccountId},{c.MailboxId},{c.HighestModSeq},{(int)c.Kinds},{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");

    /// <summary>Reads a payload; one without the time (an older node during a rolling upgrade) is read too, with no lag to report.</summary>
    public static bool TryDecode(string payload, out MailboxChanged change, out long? sentMilliseconds)
    {
        change = default;
        sentMilliseconds = null;
        var p = payload.Split(',');
        if (p.Length is not (4 or 5) || !long.TryParse(p[0], CultureInfo.InvariantCulture, out var a) || !long.TryParse(p[1], CultureInfo.InvariantCulture, out var m)
            || !long.TryParse(p[2], CultureInfo.InvariantCulture, out var q) || !int.TryParse(p[3], CultureInfo.InvariantCulture, out var k))
        {
            return false;
        }

        if (p.Length == 5 && long.TryParse(p[4], CultureInfo.InvariantCulture, out var sent))
        {
            sentMilliseconds = sent;
        }

        change = new MailboxChanged(a, m, q, (ChangeKinds)k);
        return true;
    }

    private async Task ListenAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(_stop.Token);
                connection.Notification += (_, e) =>
                {
                    if (TryDecode(e.Payload, out var change, out var sent))
                    {
                        if (sent is { } ms)
                        {
                            // Commit on some node to here: includes the clocks' difference between nodes (health reports synchronisation).
                            Sealpost.Core.Observability.SealpostMetrics.ChangeFeedLagSeconds.Record(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - ms) / 1000.0);
                        }

                        _local.Publish(change);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresStore.NotifyChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(_stop.Token);
                }

                Listening.TrySetResult();
                while (!_stop.IsCancellationRequested)
                {
                    await connection.WaitAsync(_stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or System.Net.Sockets.SocketException)
            {
                // The database is away: try again shortly; subscribers re-read by MODSEQ when it returns.
                try
                {
                    await Task.Delay(500, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        if (_listener is not null)
        {
            try
            {
                await _listener;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }
}
