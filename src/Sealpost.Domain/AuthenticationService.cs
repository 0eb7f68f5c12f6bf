using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Storage;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Core.Security;

namespace Sealpost.Domain;

public enum LoginOutcome
{
    Succeeded,
    /// <summary>Wrong user name or secret, or an account that may not log in (one answer for all).</summary>
    Failed,
    /// <summary>Too many recent failures for this account or client address.</summary>
    Throttled,
    /// <summary>The audit trail cannot keep the record (its store is down and the spool is full): try later.</summary>
    Unavailable,
}

/// <summary>What a login attempt gave. On success the caller owns <see cref="Session"/>.</summary>
/// <param name="Notice">For the owner at this login: their account was reset (by whom, when), read from the audit trail.</param>
public sealed record LoginResult(LoginOutcome Outcome, Account? Account = null, IAccountSession? Session = null, Actor? Actor = null, string? Lockout = null, string? Notice = null);

/// <summary>
/// Every protocol's login (IMAP LOGIN/AUTHENTICATE, SMTP AUTH; the API later): the lockout check, the
/// credential check, the failure accounting and the audit record, in one place. A login is answered
/// only after its record is durable (in the audit store or the local spool).
/// </summary>
[DomainService]
/// <param name="loggedIn">Told of each successful login's session (it keeps no reference): the background re-wrap of the account's delivered mail.</param>
public sealed class AuthenticationService(DirectoryService directory, LoginThrottle throttle, AccessGuard guard, Action<IAccountSession>? loggedIn = null)
{
    /// <summary>
    /// How long a protocol waits before answering its session's n-th failed login: guessing gets slower
    /// within a connection, on top of the throttle across connections. One rule for every protocol.
    /// </summary>
    public static TimeSpan FailureDelay(int failuresInSession) => TimeSpan.FromMilliseconds(250 * Math.Clamp(failuresInSession, 0, 20));

    /// <summary>Whether a protocol session opened by a login may go on (see <see cref="DirectoryService.SessionStandsAsync"/>).</summary>
    public Task<bool> SessionStandsAsync(Account loggedIn, CancellationToken ct = default) => directory.SessionStandsAsync(loggedIn, ct);

    /// <summary>What a session opened by a login listens to so it ends when the account changes, on any node (<see cref="ChangeKinds.AccountChanged"/>).</summary>
    public IChangeSubscription WatchAccount(Account loggedIn) => directory.WatchAccount(loggedIn);

    /// <param name="client">The client's actor before authentication: protocol, remote address, correlation id.</param>
    /// <param name="mechanism">LOGIN, PLAIN, ...: recorded with the outcome.</param>
    /// <param name="secondStep">
    /// Checked after the password (the admin API's TOTP): null to accept, or why not. A refusal is a
    /// failed login like a wrong password: counted by the throttle and recorded once, as a failure.
    /// </param>
    [Requires(Operation.Login)]
    public async Task<LoginResult> LoginAsync(Actor client, string user, string secret, string mechanism, CancellationToken ct = default, Func<Account, Task<string?>>? secondStep = null)
    {
        var attempt = client with { Name = DisplayName(user) };
        var remote = client.RemoteAddress ?? "unknown";
        if (await throttle.RefusalAsync(remote, user, ct) is { } locked)
        {
            return await RecordedAsync(new LoginResult(LoginOutcome.Throttled, Lockout: locked), attempt, AuditAction.LoginThrottled, AuditOutcome.Refused, $"{mechanism}; locked {locked}");
        }

        var login = await directory.LoginAsync(user, secret, ct);
        if (login is null)
        {
            await throttle.FailedAsync(remote, user, ct);
            return await RecordedAsync(new LoginResult(LoginOutcome.Failed), attempt, AuditAction.LoginFailed, AuditOutcome.Failure, mechanism);
        }

        var (account, session) = login.Value;
        if (secondStep is not null && await secondStep(account) is { } refusal)
        {
            session.Dispose();
            await throttle.FailedAsync(remote, user, ct);
            return await RecordedAsync(new LoginResult(LoginOutcome.Failed), attempt, AuditAction.LoginFailed, AuditOutcome.Failure, $"{mechanism}; {refusal}");
        }

        try
        {
            await throttle.SucceededAsync(user, remote, ct);
            var actor = await directory.ActorForAsync(account, client.Protocol, client.RemoteAddress, client.CorrelationId, ct);
            var notice = session.AfterReset ? await directory.ResetNoticeAsync(account, ct) : null;
            var result = await RecordedAsync(new LoginResult(LoginOutcome.Succeeded, account, session, actor, Notice: notice), actor, AuditAction.LoginSucceeded, AuditOutcome.Success, mechanism);
            if (result.Outcome != LoginOutcome.Succeeded)
            {
                session.Dispose();
            }
            else
            {
                loggedIn?.Invoke(session);
            }

            return result;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private async Task<LoginResult> RecordedAsync(LoginResult result, Actor actor, AuditAction action, AuditOutcome outcome, string detail)
    {
        try
        {
            await guard.RecordAsync(actor, action, actor.Name, outcome, detail);
            Core.Observability.SealpostMetrics.Logins.Add(1, new("protocol", actor.Protocol), new("outcome", outcome.ToString().ToLowerInvariant()));
            return result;
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.TemporarilyUnavailable)
        {
            return new LoginResult(LoginOutcome.Unavailable);
        }
    }

    /// <summary>The user name as typed, clipped and without control characters (it may be anything, even a password typed in the wrong field).</summary>
    private static string DisplayName(string user) =>
        Core.Addressing.MailAddress.TryParse(user, out var parsed, out _) ? parsed.ToString() : "(not an address)";
}
