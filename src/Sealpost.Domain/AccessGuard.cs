using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Logging;
using Sealpost.Domain.Audit;

namespace Sealpost.Domain;

/// <summary>
/// The one seam between an actor and a service operation: the permission matrix says yes or no,
/// and the audit trail records what was attempted and how it ended. Administration fails closed:
/// it does not start unless the audit store can take its record.
/// </summary>
public sealed class AccessGuard(AuditTrail audit, LogRedactor redactor, ILogger logger)
{
    public AuditTrail Audit => audit;

    /// <summary>Throws <see cref="ErrorKind.Forbidden"/> unless the matrix lets <paramref name="actor"/> do <paramref name="operation"/> to <paramref name="scope"/>.</summary>
    public void Require(Actor actor, Operation operation, Scope scope)
    {
        if (!PermissionMatrix.Allows(actor, operation, scope))
        {
            DomainLog.Refused(logger, operation.ToString(), redactor.Address(actor.Name), actor.PrimaryRole);
            throw new SealpostException(ErrorKind.Forbidden, $"not permitted: {actor.PrimaryRole} may not {Describe(operation)} here");
        }
    }

    /// <summary>
    /// <see cref="Require"/> for operations outside <see cref="AdministerAsync{T}"/> (reads, mail
    /// access): a refusal leaves an <see cref="AuditAction.ActionRefused"/> record naming the operation.
    /// </summary>
    public async Task RequireAsync(Actor actor, Operation operation, Scope scope, string? target = null)
    {
        try
        {
            Require(actor, operation, scope);
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.Forbidden)
        {
            await RecordRefusalAsync(actor, operation, target);
            throw;
        }
    }

    /// <summary>Records a refusal decided elsewhere (an id that belongs to another account).</summary>
    public async Task RecordRefusalAsync(Actor actor, Operation operation, string? target)
    {
        try
        {
            await audit.RecordAsync(AuditEvent.Of(actor, AuditAction.ActionRefused, target, AuditOutcome.Refused, operation.ToString()), AuditDurability.StoreOrSpool);
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
        {
            // The refusal stands; the alert about the audit trail is already logged.
        }
    }

    /// <summary>Whether the matrix allows it, without refusing.</summary>
    public bool Allows(Actor actor, Operation operation, Scope scope) => PermissionMatrix.Allows(actor, operation, scope);

    /// <summary>
    /// Runs an administrative action: the audit store must be writable first; the action's body
    /// resolves its target and calls <see cref="Require"/>; success, failure and refusal each leave
    /// one record (<paramref name="action"/>, <paramref name="target"/>, outcome).
    /// </summary>
    public async Task<T> AdministerAsync<T>(Actor actor, AuditAction action, string? target, Func<Task<(T Result, string? Detail)>> body, CancellationToken ct)
    {
        await audit.EnsureWritableAsync(ct);
        (T Result, string? Detail) done;
        try
        {
            done = await body();
        }
        catch (SealpostException ex) when (ex.Kind != ErrorKind.TemporarilyUnavailable)
        {
            var outcome = ex.Kind == ErrorKind.Forbidden ? AuditOutcome.Refused : AuditOutcome.Failure;
            await audit.RecordAsync(AuditEvent.Of(actor, action, target, outcome, ex.Kind.ToString()), AuditDurability.StoreOrSpool);
            throw;
        }

        await audit.RecordAsync(AuditEvent.Of(actor, action, target, AuditOutcome.Success, done.Detail), AuditDurability.Store);
        return done.Result;
    }

    public Task AdministerAsync(Actor actor, AuditAction action, string? target, Func<Task<string?>> body, CancellationToken ct) =>
        AdministerAsync<bool>(actor, action, target, async () => (true, await body()), ct);

    /// <summary>Records an event that must not stop the service (logins, deliveries): store or spool.</summary>
    public Task RecordAsync(Actor actor, AuditAction action, string? target, AuditOutcome outcome, string? detail = null) =>
        audit.RecordAsync(AuditEvent.Of(actor, action, target, outcome, detail), AuditDurability.StoreOrSpool);

    private static string Describe(Operation operation) =>
        string.Concat(operation.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
