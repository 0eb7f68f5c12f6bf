using Microsoft.Extensions.Logging;
using MimeKit;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Configuration;
using Sealpost.Crypto.Vault;
using Sealpost.Domain;
using Sealpost.Domain.Queue;

namespace Sealpost.Delivery;

/// <summary>
/// A node's outbound workers. Claims due messages from the shared queue with a lease
/// (<c>Delivery:LeaseSeconds</c>), delivers each pending recipient by destination domain, and
/// records one outcome per recipient: delivered (2xx), failed (5xx, reported to the sender at once)
/// or deferred (4xx, tried again on the <c>Delivery:RetryMinutes</c> schedule, a delay report after
/// <c>Delivery:WarnAfterHours</c>, given up and reported after <c>Delivery:ExpireAfterHours</c>).
/// Delivery is at least once: a worker killed between the peer's 250 and its update leaves the
/// lease to expire, and the next worker sends those recipients again (logged as a resumed attempt).
/// </summary>
public sealed class OutboundWorker : IAsyncDisposable
{
    private readonly QueueService _queue;
    private readonly DeliveryService _deliveries;
    private readonly RouteResolver _routes;
    private readonly SmtpTransport _transport;
    private readonly DeliveryOptions _options;
    private readonly string _hostname;
    private readonly QueueWakeup _wakeup;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Actor _actor = Actor.System("smtp-out");
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _inflight = [];
    private Task? _loop;
    private int _disposed;

    public OutboundWorker(QueueService queue, DeliveryService deliveries, RouteResolver routes, SmtpTransport transport, DeliveryOptions options,
        string hostname, QueueWakeup wakeup, TimeProvider time, ILogger logger)
    {
        _queue = queue;
        _deliveries = deliveries;
        _routes = routes;
        _transport = transport;
        _options = options;
        _hostname = hostname;
        _wakeup = wakeup;
        _time = time;
        _logger = logger;
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    }

    /// <summary>This worker's name on the leases it takes.</summary>
    public string Owner { get; }

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        var ct = _stopping.Token;
        var lastIdleSweep = DateTime.UtcNow;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                int claimed;
                lock (_inflight)
                {
                    _inflight.RemoveAll(t => t.IsCompleted);
                }

                var free = _options.MaxConcurrentDeliveries - InflightCount();
                claimed = free > 0 ? await ClaimAndStartAsync(free, ct) : 0;
                if (DateTime.UtcNow - lastIdleSweep > TimeSpan.FromSeconds(1))
                {
                    lastIdleSweep = DateTime.UtcNow;
                    await _transport.CloseIdleAsync();
                }

                if (claimed < free || free == 0)
                {
                    await _wakeup.WaitAsync(TimeSpan.FromSeconds(free == 0 ? 1 : _options.PollSeconds), ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The worker's boundary: whatever a pass hits (a store outage, a bug), delivery on this
                // node must not stop for good; the pass is logged by type and tried again.
                DeliveryLog.PassFailed(_logger, ex is SealpostException se ? se.Kind.ToString() : ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, CancellationToken.None);
            }
        }
    }

    private int InflightCount()
    {
        lock (_inflight)
        {
            return _inflight.Count(t => !t.IsCompleted);
        }
    }

    private async Task<int> ClaimAndStartAsync(int max, CancellationToken ct)
    {
        var claimed = await _queue.ClaimAsync(_actor, Owner, TimeSpan.FromSeconds(_options.LeaseSeconds), max, ct);
        foreach (var message in claimed)
        {
            var task = Task.Run(async () =>
            {
                try
                {
                    await ProcessAsync(message, ct);
                }
                catch (Exception ex)
                {
                    // One message's boundary: its lease runs out and a later pass takes it again.
                    DeliveryLog.PassFailed(_logger, ex.GetType().Name);
                }
                finally
                {
                    _wakeup.Notify();
                }
            }, CancellationToken.None);
            lock (_inflight)
            {
                _inflight.Add(task);
            }
        }

        return claimed.Count;
    }

    /// <summary>Claims what is due and delivers it, waiting for the attempts (tests and the CLI's flush).</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var claimed = await _queue.ClaimAsync(_actor, Owner, TimeSpan.FromSeconds(_options.LeaseSeconds), _options.MaxConcurrentDeliveries, ct);
        await Task.WhenAll(claimed.Select(m => ProcessAsync(m, ct)));
        return claimed.Count;
    }

    private async Task ProcessAsync(ClaimedMessage claimed, CancellationToken ct)
    {
        // The lease is renewed at a third of its length while the delivery runs, so a slow peer does
        // not let another worker take the message and send it a second time.
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var lease = TimeSpan.FromSeconds(_options.LeaseSeconds);
        var renewal = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(lease / 3);
            try
            {
                while (await timer.WaitForNextTickAsync(renewing.Token))
                {
                    await _queue.RenewLeaseAsync(_actor, Owner, claimed, lease, renewing.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SealpostException)
            {
            }
        }, CancellationToken.None);
        try
        {
            await AttemptAsync(claimed, ct);
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal;
        }
    }

    private async Task AttemptAsync(ClaimedMessage claimed, CancellationToken ct)
    {
        var original = claimed.Message;
        var recipients = claimed.Progress.Recipients.ToList();
        var parameters = original.Recipients.Select((r, i) => (r, i)).ToDictionary(
            p => p.r, p => p.i < original.RecipientParameters.Count ? original.RecipientParameters[p.i] : new Dictionary<string, string?>(), StringComparer.OrdinalIgnoreCase);
        MimeMessage message;
        using (var stream = new MemoryStream(original.Message))
        {
            message = await MimeMessage.LoadAsync(stream, ct);
        }

        var pending = recipients.Select((r, i) => (r, i)).Where(p => p.r.State == RecipientState.Pending).ToList();
        var newlyFailed = new List<DeliveryReport.Line>();
        var relayed = new List<DeliveryReport.Line>();
        var delivered = 0;
        var deferred = 0;
        string? host = null, tls = null;
        foreach (var domain in pending.GroupBy(p => Domain(p.r.Address), StringComparer.OrdinalIgnoreCase))
        {
            var route = await _routes.ResolveAsync(domain.Key, ct);
            var transaction = new Transaction(original.ReturnPath, domain.Select(p => (p.r.Address, parameters.GetValueOrDefault(p.r.Address) ?? EmptyParameters)).ToList(),
                original.MailParameters.GetValueOrDefault("ENVID"), string.Equals(original.MailParameters.GetValueOrDefault("RET"), "HDRS", StringComparison.OrdinalIgnoreCase),
                original.MailParameters.ContainsKey("REQUIRETLS"));
            var result = route.Failure is { } failure
                ? new AttemptResult(domain.ToDictionary(p => p.r.Address, _ => failure, StringComparer.OrdinalIgnoreCase), null, null)
                : await _transport.SendAsync(route, transaction, message, ct);
            host ??= result.Host;
            tls ??= result.Tls;
            var now = _time.GetUtcNow();
            foreach (var (recipient, index) in domain)
            {
                var reply = result.Replies.GetValueOrDefault(recipient.Address) ?? DeliveryReply.Temporary("451 4.4.2 no reply for this recipient");
                var state = reply.Success ? RecipientState.Delivered : reply.IsPermanent ? RecipientState.Failed : RecipientState.Pending;
                recipients[index] = recipient with { State = state, LastReply = reply.ToString(), Host = result.Host, Tls = result.Tls, At = now };
                if (state == RecipientState.Failed)
                {
                    newlyFailed.Add(new DeliveryReport.Line(recipients[index], OriginalRecipient(parameters, recipient.Address), reply));
                }
                else if (state == RecipientState.Delivered && !result.PeerOffersDsn)
                {
                    relayed.Add(new DeliveryReport.Line(recipients[index], OriginalRecipient(parameters, recipient.Address), reply));
                }

                delivered += state == RecipientState.Delivered ? 1 : 0;
                deferred += state == RecipientState.Pending ? 1 : 0;
            }
        }

        var at = _time.GetUtcNow();
        DeliveryLog.Attempted(_logger, claimed.Entry.Id, delivered, newlyFailed.Count, deferred, host ?? "-", tls ?? "none");
        var progress = claimed.Progress with { Recipients = recipients, LastError = recipients.FirstOrDefault(r => r.State == RecipientState.Pending)?.LastReply };

        // Given up: past the expiry, what is still pending fails with 4.4.7 (RFC 3463: delivery time expired).
        var expiry = claimed.Entry.CreatedAt + TimeSpan.FromHours(_options.ExpireAfterHours);
        if (deferred > 0 && at >= expiry)
        {
            var expired = 0;
            for (var i = 0; i < recipients.Count; i++)
            {
                if (recipients[i].State == RecipientState.Pending)
                {
                    var reply = new DeliveryReply(451, $"4.4.7 delivery time expired; last reply: {recipients[i].LastReply}");
                    recipients[i] = recipients[i] with { State = RecipientState.Expired };
                    newlyFailed.Add(new DeliveryReport.Line(recipients[i], OriginalRecipient(parameters, recipients[i].Address), reply));
                    expired++;
                }
            }

            DeliveryLog.Expired(_logger, claimed.Entry.Id, expired, _options.ExpireAfterHours);
            progress = progress with { Recipients = recipients };
            deferred = 0;
        }

        await ReportAsync(claimed, ReportKind.Failed, newlyFailed, null, ct);
        await ReportAsync(claimed, ReportKind.Relayed, relayed, null, ct);

        if (deferred == 0)
        {
            if (await _queue.CompleteAsync(_actor, Owner, claimed, progress, ct))
            {
                DeliveryLog.Completed(_logger, claimed.Entry.Id, claimed.Entry.Attempts + 1);
            }
            else
            {
                DeliveryLog.LeaseLost(_logger, claimed.Entry.Id);
            }

            return;
        }

        if (_options.WarnAfterHours > 0 && !progress.DelayWarned && at >= claimed.Entry.CreatedAt + TimeSpan.FromHours(_options.WarnAfterHours))
        {
            var delayed = recipients.Where(r => r.State == RecipientState.Pending)
                .Select(r => new DeliveryReport.Line(r, OriginalRecipient(parameters, r.Address), DeliveryReply.Parse(r.LastReply ?? "451 4.4.1 not yet delivered")))
                .ToList();
            await ReportAsync(claimed, ReportKind.Delayed, delayed, expiry, ct);
            progress = progress with { DelayWarned = true };
        }

        var schedule = _options.RetrySchedule;
        var minutes = schedule[Math.Min(claimed.Entry.Attempts, schedule.Count - 1)];
        var next = at + TimeSpan.FromMinutes(minutes);
        if (!await _queue.RecordAttemptAsync(_actor, Owner, claimed, progress, next < expiry ? next : expiry, ct))
        {
            DeliveryLog.LeaseLost(_logger, claimed.Entry.Id);
            return;
        }

        DeliveryLog.Deferred(_logger, claimed.Entry.Id, minutes, DeliveryReply.Parse(progress.LastError ?? "451 4.0.0 deferred").Status);
    }

    private static readonly IReadOnlyDictionary<string, string?> EmptyParameters = new Dictionary<string, string?>();

    private static string? OriginalRecipient(Dictionary<string, IReadOnlyDictionary<string, string?>> parameters, string address) =>
        parameters.GetValueOrDefault(address)?.GetValueOrDefault("ORCPT");

    private static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..].ToLowerInvariant();

    /// <summary>
    /// Tells the sender (RFC 3464), for the recipients whose NOTIFY asks for it; never for the null
    /// reverse-path (a report's own failure never makes another report). A local sender gets it
    /// sealed in their Inbox; a remote one through the queue.
    /// </summary>
    private async Task ReportAsync(ClaimedMessage claimed, ReportKind kind, List<DeliveryReport.Line> lines, DateTimeOffset? retryUntil, CancellationToken ct)
    {
        var original = claimed.Message;
        var parameters = original.Recipients.Select((r, i) => (r, p: i < original.RecipientParameters.Count ? original.RecipientParameters[i] : null))
            .ToDictionary(x => x.r, x => x.p, StringComparer.OrdinalIgnoreCase);
        var wanted = lines.Where(l => DeliveryReport.Wanted(kind, parameters.GetValueOrDefault(l.Recipient.Address))).ToList();
        if (wanted.Count == 0 || string.IsNullOrEmpty(original.ReturnPath) || !MailAddress.TryParse(original.ReturnPath, out var sender, out _))
        {
            return;
        }

        var report = DeliveryReport.Build(kind, _hostname, original, wanted, claimed.Entry.CreatedAt, retryUntil, _time.GetUtcNow());
        using var buffer = new MemoryStream();
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        await report.WriteToAsync(format, buffer, ct);
        var bytes = buffer.ToArray();
        var id = $"report-{claimed.Entry.Id}";
        try
        {
            var check = await _deliveries.CheckRecipientAsync(_actor, sender, bytes.Length, ct);
            switch (check.Status)
            {
                case RecipientStatus.Local:
                    await _deliveries.DeliverAsync(_actor, bytes, check.Accounts, id, ct);
                    break;
                case RecipientStatus.Remote:
                    await _deliveries.EnqueueAsync(_actor, new OutboundMessage("", [sender.ToString()], new Dictionary<string, string?>(), [new Dictionary<string, string?>()], bytes), id, ct);
                    break;
                default:
                    DeliveryLog.ReportFailed(_logger, claimed.Entry.Id, check.Status.ToString());
                    return;
            }

            var name = kind.ToString().ToLowerInvariant();
            await _queue.ReportMadeAsync(_actor, claimed.Entry.Id, name, ct);
            DeliveryLog.ReportMade(_logger, claimed.Entry.Id, name);
        }
        catch (SealpostException ex)
        {
            DeliveryLog.ReportFailed(_logger, claimed.Entry.Id, ex.Kind.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        Task[] running;
        lock (_inflight)
        {
            running = [.. _inflight];
        }

        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await _transport.DisposeAsync();
        _stopping.Dispose();
    }
}
