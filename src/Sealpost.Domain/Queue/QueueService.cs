using System.Security.Cryptography;
using System.Text.Json;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Vault;

namespace Sealpost.Domain.Queue;

/// <summary>What an operator sees of a queued message: envelope, size, state, attempts and each recipient's last reply; never content.</summary>
public sealed record QueueEntryView(
    long Id,
    string ReturnPath,
    IReadOnlyList<RecipientProgress> Recipients,
    long Size,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset NextAttemptAt,
    QueueState State,
    string? LeaseOwner,
    DateTimeOffset? LeaseUntil,
    string? LastError)
{
    /// <summary>What mailq would say: held, sending (a worker holds its lease) or queued.</summary>
    public string StateName(DateTimeOffset now) =>
        State == QueueState.Held ? "held" : LeaseUntil is { } until && until > now ? "sending" : "queued";
}

/// <summary>A message a worker holds the lease on, opened.</summary>
public sealed record ClaimedMessage(QueuedMessage Entry, OutboundMessage Message, QueueProgress Progress);

/// <summary>
/// The outbound queue as operators and the server's workers use it. Operators read metadata and
/// hold, release, retry or delete (each audited); workers claim due messages with a lease, record
/// each attempt's per-recipient outcome and finish. An entry that does not open (altered, or sealed
/// to another row) is held, never sent, and reported.
/// </summary>
[DomainService]
public sealed class QueueService(ISealpostStore store, QueueSealer sealer, AccessGuard guard, TimeProvider time)
{
    [Requires(Operation.QueueRead)]
    public async Task<IReadOnlyList<QueueEntryView>> ListAsync(Actor actor, CancellationToken ct)
    {
        await guard.RequireAsync(actor, Operation.QueueRead, Scope.Platform);
        return (await store.Queue.ListAsync(ct)).Select(View).ToList();
    }

    [Requires(Operation.QueueRead)]
    public async Task<QueueEntryView> ShowAsync(Actor actor, long id, CancellationToken ct)
    {
        await guard.RequireAsync(actor, Operation.QueueRead, Scope.Platform, $"queue {id}");
        return View(await store.Queue.GetAsync(id, ct) ?? throw SealpostException.NotFound($"no queued message {id}"));
    }

    /// <summary>No attempt until released.</summary>
    [Requires(Operation.QueueManage)]
    public Task HoldAsync(Actor actor, long id, CancellationToken ct) =>
        ManageAsync(actor, AuditAction.QueueHeld, id, () => store.Queue.SetStateAsync(id, QueueState.Held, null, ct), ct);

    /// <summary>Back to the queue, attempted when next due.</summary>
    [Requires(Operation.QueueManage)]
    public Task ReleaseAsync(Actor actor, long id, CancellationToken ct) =>
        ManageAsync(actor, AuditAction.QueueReleased, id, () => store.Queue.SetStateAsync(id, QueueState.Ready, time.GetUtcNow(), ct), ct);

    /// <summary>Attempted at once (and released if held).</summary>
    [Requires(Operation.QueueManage)]
    public Task RetryAsync(Actor actor, long id, CancellationToken ct) =>
        ManageAsync(actor, AuditAction.QueueRetried, id, () => store.Queue.SetStateAsync(id, QueueState.Ready, time.GetUtcNow(), ct), ct);

    /// <summary>Removed without delivery or bounce.</summary>
    [Requires(Operation.QueueManage)]
    public Task DeleteAsync(Actor actor, long id, CancellationToken ct) =>
        ManageAsync(actor, AuditAction.QueueDeleted, id, () => store.Queue.RemoveAsync(id, ct), ct);

    private Task ManageAsync(Actor actor, AuditAction action, long id, Func<Task> change, CancellationToken ct) =>
        guard.AdministerAsync(actor, action, $"queue {id}", async () =>
        {
            guard.Require(actor, Operation.QueueManage, Scope.Platform);
            await change();
            return null;
        }, ct);

    /// <summary>Leases due messages to <paramref name="owner"/>; entries that do not open are held and left out.</summary>
    [Requires(Operation.QueueDeliver)]
    public async Task<IReadOnlyList<ClaimedMessage>> ClaimAsync(Actor actor, string owner, TimeSpan lease, int max, CancellationToken ct)
    {
        guard.Require(actor, Operation.QueueDeliver, Scope.Platform);
        var claimed = new List<ClaimedMessage>();
        foreach (var entry in await store.Queue.ClaimAsync(owner, time.GetUtcNow(), lease, max, ct))
        {
            try
            {
                var message = sealer.Open(entry);
                claimed.Add(new ClaimedMessage(entry, message, sealer.OpenProgress(entry, message)));
            }
            catch (Exception ex) when (ex is CryptographicException or JsonException)
            {
                await store.Queue.SetStateAsync(entry.Id, QueueState.Held, null, ct);
                await guard.RecordAsync(actor, AuditAction.QueueHeld, $"queue {entry.Id}", AuditOutcome.Failure, "the entry does not open: altered or moved");
            }
        }

        return claimed;
    }

    /// <summary>Keeps a message leased while its delivery runs; false if another worker has it now.</summary>
    [Requires(Operation.QueueDeliver)]
    public Task<bool> RenewLeaseAsync(Actor actor, string owner, ClaimedMessage message, TimeSpan lease, CancellationToken ct)
    {
        guard.Require(actor, Operation.QueueDeliver, Scope.Platform);
        return store.Queue.RenewLeaseAsync(message.Entry.Id, owner, time.GetUtcNow() + lease, ct);
    }

    /// <summary>Records an attempt and gives the lease back; false if another worker has it now.</summary>
    [Requires(Operation.QueueDeliver)]
    public Task<bool> RecordAttemptAsync(Actor actor, string owner, ClaimedMessage message, QueueProgress progress, DateTimeOffset nextAttempt, CancellationToken ct)
    {
        guard.Require(actor, Operation.QueueDeliver, Scope.Platform);
        return store.Queue.ReleaseAsync(message.Entry.Id, owner, sealer.SealProgress(message.Entry.Id, progress), message.Entry.Attempts + 1, nextAttempt, ct);
    }

    /// <summary>Every recipient is done (delivered, bounced or expired): the message leaves the queue, with one audit record.</summary>
    [Requires(Operation.QueueDeliver)]
    public async Task<bool> CompleteAsync(Actor actor, string owner, ClaimedMessage message, QueueProgress progress, CancellationToken ct)
    {
        guard.Require(actor, Operation.QueueDeliver, Scope.Platform);
        if (!await store.Queue.CompleteAsync(message.Entry.Id, owner, ct))
        {
            return false;
        }

        var delivered = progress.Recipients.Count(r => r.State == RecipientState.Delivered);
        try
        {
            await guard.RecordAsync(actor, AuditAction.MessageSent, $"queue {message.Entry.Id}", delivered > 0 ? AuditOutcome.Success : AuditOutcome.Failure,
                $"{delivered} delivered; {progress.Recipients.Count - delivered} not; {message.Entry.Attempts + 1} attempts; {message.Entry.Size} bytes");
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
        {
            // Delivery happened; the audit trail's own alert is already logged.
        }

        return true;
    }

    /// <summary>A delivery status notification was made for the message's sender (counts only).</summary>
    [Requires(Operation.QueueDeliver)]
    public async Task ReportMadeAsync(Actor actor, long id, string kind, CancellationToken ct)
    {
        guard.Require(actor, Operation.QueueDeliver, Scope.Platform);
        try
        {
            await guard.RecordAsync(actor, AuditAction.MessageBounced, $"queue {id}", AuditOutcome.Success, kind);
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
        {
        }
    }

    private QueueEntryView View(QueuedMessage entry)
    {
        try
        {
            var message = sealer.Open(entry);
            var progress = sealer.OpenProgress(entry, message);
            return new QueueEntryView(entry.Id, message.ReturnPath, progress.Recipients, entry.Size, entry.Attempts, entry.CreatedAt, entry.NextAttemptAt,
                entry.State, entry.LeaseOwner, entry.LeaseUntil, progress.LastError);
        }
        catch (Exception ex) when (ex is CryptographicException or JsonException)
        {
            return new QueueEntryView(entry.Id, "?", [], entry.Size, entry.Attempts, entry.CreatedAt, entry.NextAttemptAt, entry.State,
                entry.LeaseOwner, entry.LeaseUntil, "the entry does not open: altered or moved");
        }
    }
}
