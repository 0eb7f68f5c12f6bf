using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Core.Logging;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;

namespace Sealpost.Domain;

/// <summary>An account as administrators see it: directory data and usage, never content.</summary>
public sealed record AccountSummary(Account Account, long UsedBytes, long Messages);

/// <summary>
/// Directory rules above the store: names are validated, every address lives in one namespace,
/// domains are removed only when empty, group nesting never forms a loop, and every account gets
/// its special folders. Every operation takes the <see cref="Actor"/> asking, checks it against the
/// permission matrix and leaves its audit record (<see cref="AccessGuard"/>). The CLI, the REST API
/// and tests all go through here.
/// </summary>
[DomainService]
public sealed class DirectoryService(
    ISealpostStore store,
    IAccountVault vault,
    MailboxService mailboxes,
    OwnerNotices notices,
    AccessGuard guard,
    LoginThrottle throttle,
    LogRedactor redactor,
    ILogger<DirectoryService> logger)
{
    /// <summary>Minimum length of a human password (NIST SP 800-63B §5.1.1.2).</summary>
    public const int MinimumPasswordLength = Administration.PasswordPolicy.MinimumLength;

    /// <summary>Longest password accepted, so hashing cost stays bounded.</summary>
    public const int MaximumPasswordLength = Administration.PasswordPolicy.MaximumLength;

    /// <summary>Raised after an account's state changed or it was shredded (the host clears recipient caches).</summary>
    public event Action? AccountsChanged;

    // A domain never changes tenant: its tenant is looked up once.
    private readonly ConcurrentDictionary<long, long> _tenantOfDomain = new();

    private IDirectoryStore Dir => store.Directory;

    // ---- scope ----

    /// <summary>The tenant (department) a domain belongs to.</summary>
    public async Task<long> TenantOfDomainAsync(long domainId, CancellationToken ct = default)
    {
        if (_tenantOfDomain.TryGetValue(domainId, out var tenant))
        {
            return tenant;
        }

        foreach (var d in await Dir.ListDomainsAsync(ct))
        {
            _tenantOfDomain[d.Id] = d.TenantId;
        }

        return _tenantOfDomain.TryGetValue(domainId, out tenant) ? tenant : throw SealpostException.NotFound("the domain no longer exists");
    }

    private async Task<Scope> ScopeOfAsync(Account account, CancellationToken ct) =>
        Scope.OfAccount(await TenantOfDomainAsync(account.DomainId, ct), account.Id);

    /// <summary>The actor of a logged-in account, with its tenant as scope.</summary>
    public async Task<Actor> ActorForAsync(Account account, string protocol, string? remoteAddress, string? correlationId, CancellationToken ct = default) =>
        Actor.ForAccount(account, await TenantOfDomainAsync(account.DomainId, ct), protocol, remoteAddress, correlationId);

    // ---- tenants and domains ----

    [Requires(Operation.TenantCreate)]
    public Task<Tenant> AddTenantAsync(Actor actor, string name, string? displayName, CancellationToken ct = default)
    {
        var normalised = name.Trim().ToLowerInvariant();
        return guard.AdministerAsync(actor, AuditAction.TenantCreated, normalised, async () =>
        {
            guard.Require(actor, Operation.TenantCreate, Scope.Platform);
            if (normalised.Length is 0 or > 63 || !normalised.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') || normalised[0] == '-')
            {
                throw SealpostException.Invalid($"tenant name '{DomainName.Printable(name)}' must be 1-63 characters of a-z, 0-9 and '-'");
            }

            var tenant = await Dir.CreateTenantAsync(normalised, string.IsNullOrWhiteSpace(displayName) ? normalised : displayName.Trim(), ct);
            CoreLog.TenantCreated(logger, tenant.Id);
            return (tenant, (string?)null);
        }, ct);
    }

    [Requires(Operation.TenantList)]
    public async Task<IReadOnlyList<Tenant>> ListTenantsAsync(Actor actor, CancellationToken ct = default)
    {
        var all = await Dir.ListTenantsAsync(ct);
        if (guard.Allows(actor, Operation.TenantList, Scope.Platform))
        {
            return all;
        }

        await guard.RequireAsync(actor, Operation.TenantList, Scope.OfTenant(actor.TenantId ?? -1));
        return all.Where(t => t.Id == actor.TenantId).ToList();
    }

    public async Task<Tenant> RequireTenantAsync(string name, CancellationToken ct = default) =>
        await Dir.FindTenantAsync(name.Trim().ToLowerInvariant(), ct)
        ?? throw SealpostException.NotFound($"no tenant named '{DomainName.Printable(name)}' (see 'sealpost tenant list')");

    [Requires(Operation.DomainAdd)]
    public Task<MailDomain> AddDomainAsync(Actor actor, string domain, string tenantName, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.DomainAdded, DomainName.Printable(domain.Trim()), async () =>
        {
            guard.Require(actor, Operation.DomainAdd, Scope.Platform);
            var name = DomainName.Parse(domain);
            var tenant = await RequireTenantAsync(tenantName, ct);
            var added = await Dir.AddDomainAsync(tenant.Id, name, ct);
            _tenantOfDomain[added.Id] = tenant.Id;
            CoreLog.DomainAdded(logger, redactor.Domain(name), tenant.Id);
            return (added, (string?)$"tenant {tenant.Name}");
        }, ct);

    /// <summary>
    /// Whether mail for <paramref name="domain"/> is hosted here, for client auto-configuration answered
    /// to anyone (what the domain's MX records say publicly anyway); not audited, like a DNS answer.
    /// </summary>
    [Requires(Operation.Login)]
    public async Task<DomainName?> HostedDomainAsync(Actor client, string domain, CancellationToken ct = default)
    {
        _ = client;
        return DomainName.TryParse(domain.Trim().TrimEnd('.'), out var name, out _) && await Dir.FindDomainAsync(name, ct) is not null ? name : null;
    }

    public async Task<MailDomain> RequireDomainAsync(DomainName name, CancellationToken ct = default) =>
        await Dir.FindDomainAsync(name, ct) ?? throw SealpostException.NotFound($"'{name.Unicode}' is not a local domain");

    [Requires(Operation.DomainRemove)]
    public Task RemoveDomainAsync(Actor actor, string domain, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.DomainRemoved, DomainName.Printable(domain.Trim()), async () =>
        {
            guard.Require(actor, Operation.DomainRemove, Scope.Platform);
            var found = await RequireDomainAsync(DomainName.Parse(domain), ct);
            await Dir.RemoveDomainAsync(found.Id, ct);
            CoreLog.DomainRemoved(logger, redactor.Domain(found.Name));
            return (string?)null;
        }, ct);

    [Requires(Operation.DomainList)]
    public async Task<IReadOnlyList<MailDomain>> ListDomainsAsync(Actor actor, CancellationToken ct = default)
    {
        var visible = await VisibleDomainIdsAsync(actor, Operation.DomainList, ct);
        return (await Dir.ListDomainsAsync(ct)).Where(d => visible.Contains(d.Name.Ascii)).ToList();
    }

    // ---- accounts ----

    [Requires(Operation.AccountCreate)]
    public Task<Account> AddUserAsync(Actor actor, string address, string password, string? displayName, long quotaBytes, AccountRoles roles = AccountRoles.User, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AccountCreated, DomainName.Printable(address.Trim()), async () =>
        {
            var (account, detail) = await CreateAccountAsync(actor, address, displayName, quotaBytes, roles, parsed => CheckPasswordPolicy(password, parsed),
                created => vault.ProvisionAsync(created, password, ct), ct);
            return (account, (string?)detail);
        }, ct);

    /// <summary>
    /// An account its owner enrols later: key version 1 at once (mail and migration can arrive before
    /// the person enrols), wrapped to a one-time token returned here (shown once, expiring after
    /// Vault:EnrolmentTokenHours) and to recovery. The person redeems it with a password of their own.
    /// </summary>
    [Requires(Operation.AccountCreate)]
    public Task<(Account Account, string Token, DateTimeOffset ExpiresAt)> AddUserForEnrolmentAsync(Actor actor, string address, string? displayName, long quotaBytes, AccountRoles roles = AccountRoles.User, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AccountCreated, DomainName.Printable(address.Trim()), async () =>
        {
            string? token = null;
            var expires = DateTimeOffset.MinValue;
            var (account, detail) = await CreateAccountAsync(actor, address, displayName, quotaBytes, roles, _ => { },
                async created =>
                {
                    var (session, issued, until) = await vault.ProvisionForEnrolmentAsync(created, ct);
                    (token, expires) = (issued, until);
                    return session;
                }, ct);
            return ((account, token!, expires), (string?)$"{detail}; enrolment token issued, expires {expires:yyyy-MM-ddTHH:mm}Z");
        }, ct);

    private async Task<(Account Account, string Detail)> CreateAccountAsync(Actor actor, string address, string? displayName, long quotaBytes, AccountRoles roles,
        Action<MailAddress> checkCredential, Func<Account, Task<IAccountSession>> provision, CancellationToken ct)
    {
        var parsed = MailAddress.Parse(address);
        var domain = await RequireDomainAsync(parsed.Domain, ct);
        guard.Require(actor, Operation.AccountCreate, Scope.OfTenant(domain.TenantId));
        if ((roles & ~AccountRoles.User) != AccountRoles.None)
        {
            guard.Require(actor, Operation.RoleGrant, Scope.Platform);
        }

        checkCredential(parsed);
        if (quotaBytes < 0)
        {
            throw SealpostException.Invalid("quota must be 0 (none) or a positive number of bytes");
        }

        var account = await Dir.CreateAccountAsync(
            new NewAccount(domain.Id, parsed, string.IsNullOrWhiteSpace(displayName) ? parsed.LocalPart : displayName.Trim(), quotaBytes, roles | AccountRoles.User), ct);
        using (var session = await provision(account))
        {
            await mailboxes.EnsureSpecialMailboxesAsync(account.Id, session.Names, ct);
        }

        CoreLog.AccountCreated(logger, account.Id, redactor.Address(parsed));
        await RecordKeyVersionsAsync(actor, account, 0, ct);
        return ((await Dir.GetAccountAsync(account.Id, ct))!, $"roles {RolesText(roles | AccountRoles.User)}");
    }

    /// <summary>
    /// A person redeems their enrolment token with a password of their own (no sign-in: the token is the
    /// proof). Wrong, expired and already-used tokens are told apart, so that someone whose token was
    /// used by another can report it; an unknown address answers as a wrong token does.
    /// </summary>
    [Requires(Operation.Login)]
    public Task<EnrolmentRecord> RedeemEnrolmentAsync(Actor client, string address, string token, string newPassword, CancellationToken ct = default) =>
        guard.AdministerAsync(client, AuditAction.AccountEnrolled, DomainName.Printable(address.Trim()), async () =>
        {
            var account = MailAddress.TryParse(address.Trim(), out var parsed, out _) ? await Dir.FindAccountAsync(parsed, ct) : null;
            if (account is null || account.State != AccountState.Active)
            {
                throw new SealpostException(ErrorKind.Forbidden, "the enrolment token is wrong (check the address and the token as you were given them)");
            }

            CheckPasswordPolicy(newPassword, account.Address);
            var before = (await Dir.ListAccountKeysAsync(account.Id, ct)).Select(k => k.Version).DefaultIfEmpty(0).Max();
            var result = await vault.RedeemEnrolmentAsync(account, token, newPassword, client.RemoteAddress ?? "unknown", ct);
            switch (result.Outcome)
            {
                case EnrolmentOutcome.AlreadyUsed:
                    CoreLog.EnrolmentTokenReused(logger, account.Id);
                    throw SealpostException.Conflict($"this enrolment token was already used at {result.Earlier!.At:yyyy-MM-dd HH:mm} UTC from {result.Earlier.From}; if that was not you, report it to your administrator now");
                case EnrolmentOutcome.Expired:
                    throw SealpostException.Conflict("this enrolment token has expired; ask your administrator for a new one");
                case EnrolmentOutcome.Wrong:
                    throw new SealpostException(ErrorKind.Forbidden, "the enrolment token is wrong (check the address and the token as you were given them)");
            }

            CoreLog.CredentialReplaced(logger, account.Id);
            await store.ScrubAsync(ct); // the token's wrap: out of free pages and the WAL
            await RecordKeyVersionsAsync(client, account, before, ct);
            return (result.Earlier!, (string?)$"enrolled from {result.Earlier!.From}");
        }, ct);

    /// <summary>When and from where the account's enrolment token was redeemed (its owner sees it after signing in).</summary>
    [Requires(Operation.OwnCredentialsManage)]
    public async Task<EnrolmentRecord?> GetEnrolmentAsync(Actor actor, string address, CancellationToken ct = default)
    {
        var account = await RequireAccountAsync(address, ct);
        RequireOwnerOrAdministrator(actor, Operation.OwnCredentialsManage, await ScopeOfAsync(account, ct));
        return await vault.GetEnrolmentAsync(account, ct);
    }

    /// <summary>
    /// The first platform administrator, made offline on the data folder (<c>sealpost admin bootstrap</c>)
    /// with a generated one-time password; refused once any platform administrator exists. Its domain
    /// is added to the default tenant if missing.
    /// </summary>
    [Requires(Operation.RoleGrant)]
    public Task<Account> BootstrapAdministratorAsync(Actor actor, string address, string oneTimePassword, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AdministratorBootstrapped, DomainName.Printable(address.Trim()), async () =>
        {
            guard.Require(actor, Operation.RoleGrant, Scope.Platform);
            if ((await Dir.ListAccountsAsync(null, ct)).Any(a => a.Roles.HasFlag(AccountRoles.PlatformAdmin) && a.State != AccountState.Deleted))
            {
                throw SealpostException.Conflict("a platform administrator exists already: sign in as one and grant roles with 'sealpost role grant'");
            }

            var parsed = MailAddress.Parse(address);
            if (await Dir.FindDomainAsync(parsed.Domain, ct) is null)
            {
                await AddDomainAsync(actor, parsed.Domain.Ascii, "default", ct);
            }

            var account = await AddUserAsync(actor, parsed.ToString(), oneTimePassword, null, 0, AccountRoles.User | AccountRoles.PlatformAdmin, ct);
            return (account, (string?)"platform-admin");
        }, ct);

    /// <summary>
    /// Whether a session that <paramref name="loggedIn"/> opened may go on: the account still active and
    /// its credentials unchanged since (a password change, reset, rotation, enrolment or a new or revoked
    /// app password bumps the credential version; a suspension or deletion changes the state).
    /// </summary>
    /// <summary>The change feed of a logged-in account: its mailboxes' changes and "the account changed" (any node).</summary>
    internal IChangeSubscription WatchAccount(Account loggedIn) => store.Changes.Subscribe(loggedIn.Id);

    public async Task<bool> SessionStandsAsync(Account loggedIn, CancellationToken ct = default) =>
        await Dir.GetAccountAsync(loggedIn.Id, ct) is { State: AccountState.Active } now && now.CredentialVersion == loggedIn.CredentialVersion;

    /// <summary>An account's audit target: its address in canonical form where it parses (so its owner's login finds the records), else as given.</summary>
    private static string AccountTarget(string address) =>
        MailAddress.TryParse(address.Trim(), out var parsed, out _) ? parsed.ToString() : DomainName.Printable(address.Trim());

    /// <summary>
    /// What a login with a provisional password tells its owner when the account was reset: by whom and
    /// when, from the audit trail (which the resetter cannot erase, unlike a message in the mailbox); null if it was not reset.
    /// </summary>
    internal async Task<string?> ResetNoticeAsync(Account account, CancellationToken ct = default)
    {
        var resets = await guard.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.PasswordReset, Target: account.Address.ToString()), ct);
        return resets.LastOrDefault(r => r.Event.Outcome == AuditOutcome.Success) is { } last
            ? $"Your password was reset by {last.Event.Actor} on {last.Event.Time:yyyy-MM-dd HH:mm} UTC. Mail from before the reset opens again only after the security officers recover your previous key. If you did not ask for this, tell your security officer."
            : null;
    }

    public async Task<Account> RequireAccountAsync(string address, CancellationToken ct = default) =>
        await Dir.FindAccountAsync(MailAddress.Parse(address), ct)
        ?? throw SealpostException.NotFound($"no account '{DomainName.Printable(address)}'");

    /// <summary>Accounts the actor may see, optionally of one domain, with their usage.</summary>
    [Requires(Operation.AccountList)]
    public async Task<IReadOnlyList<AccountSummary>> ListAccountsAsync(Actor actor, string? domain = null, CancellationToken ct = default)
    {
        long? domainId = domain is null ? null : (await RequireDomainAsync(DomainName.Parse(domain), ct)).Id;
        var result = new List<AccountSummary>();
        var refused = false;
        foreach (var a in await Dir.ListAccountsAsync(domainId, ct))
        {
            if (!guard.Allows(actor, Operation.AccountList, await ScopeOfAsync(a, ct)))
            {
                refused = true;
                continue;
            }

            var usage = await store.Mail.GetUsageAsync(a.Id, ct);
            result.Add(new AccountSummary(a, usage.Bytes, usage.Messages));
        }

        if (result.Count == 0 && refused)
        {
            throw await RefuseAsync(actor, Operation.AccountList);
        }

        return result;
    }

    /// <summary>
    /// One page of the accounts the actor may see, in address order after <paramref name="after"/>
    /// (an address key from the previous page), optionally of one domain.
    /// </summary>
    [Requires(Operation.AccountList)]
    public async Task<IReadOnlyList<AccountSummary>> ListAccountsPageAsync(Actor actor, string? domain, string? after, int limit, CancellationToken ct = default)
    {
        IReadOnlyCollection<long>? domainIds = null;
        if (domain is not null)
        {
            var d = await RequireDomainAsync(DomainName.Parse(domain), ct);
            await guard.RequireAsync(actor, Operation.AccountList, Scope.OfTenant(d.TenantId), d.Name.Ascii);
            domainIds = [d.Id];
        }
        else if (!guard.Allows(actor, Operation.AccountList, Scope.Platform))
        {
            if (guard.Allows(actor, Operation.AccountList, Scope.OfTenant(actor.TenantId ?? -1)))
            {
                domainIds = (await Dir.ListDomainsAsync(ct)).Where(d => d.TenantId == actor.TenantId).Select(d => d.Id).ToList();
            }
            else
            {
                // A user sees its own account and nothing else.
                await guard.RequireAsync(actor, Operation.AccountList, Scope.OfAccount(actor.TenantId ?? -1, actor.AccountId ?? -1));
                var own = actor.AccountId is { } id ? await Dir.GetAccountAsync(id, ct) : null;
                return own is null || (after is not null && string.CompareOrdinal(own.Address.Key, after) <= 0)
                    ? []
                    : [await SummaryAsync(own, ct)];
            }
        }

        var page = await Dir.ListAccountsPageAsync(domainIds, after, limit, ct);
        var result = new List<AccountSummary>(page.Count);
        foreach (var a in page)
        {
            result.Add(await SummaryAsync(a, ct));
        }

        return result;
    }

    /// <summary>
    /// A page of the directory (a department's accounts, or every account) for those whose role reaches
    /// one: administrators and auditors. A user, who reaches only their own account, and an operator,
    /// who runs the platform without its address book, are refused.
    /// </summary>
    [Requires(Operation.AccountList)]
    public async Task<IReadOnlyList<AccountSummary>> ListDirectoryPageAsync(Actor actor, string? after, int limit, CancellationToken ct = default)
    {
        if (!guard.Allows(actor, Operation.AccountList, Scope.Platform))
        {
            await guard.RequireAsync(actor, Operation.AccountList, Scope.OfTenant(actor.TenantId ?? -1));
        }

        return await ListAccountsPageAsync(actor, null, after, limit, ct);
    }

    /// <summary>One account as administrators see it.</summary>
    [Requires(Operation.AccountList)]
    public async Task<AccountSummary> GetAccountAsync(Actor actor, string address, CancellationToken ct = default)
    {
        var account = await RequireAccountAsync(address, ct);
        await guard.RequireAsync(actor, Operation.AccountList, await ScopeOfAsync(account, ct), account.Address.ToString());
        return await SummaryAsync(account, ct);
    }

    /// <summary>
    /// Changes display name and quota, only if the account is still at <paramref name="expectedVersion"/>
    /// (the version the caller read): a concurrent change is a <see cref="ErrorKind.Conflict"/>, not a lost update.
    /// </summary>
    [Requires(Operation.AccountUpdate)]
    public Task<Account> UpdateAccountAsync(Actor actor, string address, string? displayName, long? quotaBytes, int expectedVersion, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AccountUpdated, DomainName.Printable(address.Trim()), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            guard.Require(actor, Operation.AccountUpdate, await ScopeOfAsync(account, ct));
            if (account.State == AccountState.Deleted)
            {
                throw SealpostException.Conflict($"account '{account.Address}' is deleted");
            }

            var name = displayName?.Trim() ?? account.DisplayName;
            if (name.Length is 0 or > 200 || name.Any(char.IsControl))
            {
                throw SealpostException.Invalid("displayName: 1 to 200 printable characters");
            }

            var quota = quotaBytes ?? account.QuotaBytes;
            if (quota < 0)
            {
                throw SealpostException.Invalid("quotaBytes: 0 (none) or a positive number of bytes");
            }

            if (!await Dir.UpdateAccountAsync(account.Id, name, quota, expectedVersion, ct))
            {
                throw SealpostException.Conflict($"account '{account.Address}' changed since it was read; read it again and retry");
            }

            var changes = new List<string>();
            if (displayName is not null) changes.Add("display name");
            if (quotaBytes is not null) changes.Add($"quota {quota}");
            return ((await Dir.GetAccountAsync(account.Id, ct))!, (string?)string.Join("; ", changes));
        }, ct);

    private async Task<AccountSummary> SummaryAsync(Account account, CancellationToken ct)
    {
        var usage = await store.Mail.GetUsageAsync(account.Id, ct);
        return new AccountSummary(account, usage.Bytes, usage.Messages);
    }

    /// <summary>
    /// Changes a password. With the old password the account key is re-wrapped (the owner's own
    /// operation, or an administrator's who was told it; then the new password is provisional), except
    /// that the owner's replacing a provisional password makes a new key version. Without it this is a reset by an administrator: a new key
    /// pair, mail sealed to the old key readable again only through recovery, every credential
    /// replaced, and the owner told in their inbox.
    /// </summary>
    [Requires(Operation.AccountPasswordReset)]
    public Task SetPasswordAsync(Actor actor, string address, string newPassword, string? oldPassword, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, oldPassword is null ? AuditAction.PasswordReset : AuditAction.PasswordChanged, AccountTarget(address), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            var scope = await ScopeOfAsync(account, ct);
            // Proving the old password is the owner's act (or an administrator's who was told it).
            if (oldPassword is null || !guard.Allows(actor, Operation.OwnPasswordChange, scope))
            {
                guard.Require(actor, Operation.AccountPasswordReset, scope);
            }

            if (account.State == AccountState.Deleted)
            {
                throw SealpostException.Conflict($"account '{account.Address}' is deleted");
            }

            CheckPasswordPolicy(newPassword, account.Address);
            var before = (await Dir.ListAccountKeysAsync(account.Id, ct)).Select(k => k.Version).DefaultIfEmpty(0).Max();
            string? detail = null;
            if (oldPassword is not null)
            {
                var byOwner = actor.Kind == ActorKind.Account && actor.AccountId == account.Id;
                if (await vault.ChangePasswordAsync(account, oldPassword, newPassword, byOwner, ct))
                {
                    detail = "the owner replaced a provisional password: new key version";
                }
                else if (!byOwner)
                {
                    detail = "set by someone other than the owner: provisional";
                }
            }
            else
            {
                using var session = await vault.ResetPasswordAsync(account, newPassword, ct);
                await mailboxes.ResealSpecialMailboxesAsync(account.Id, session.Names, ct);
                await notices.PasswordWasResetAsync(account, session, actor.Name, ct);
            }

            CoreLog.CredentialReplaced(logger, account.Id);
            await store.ScrubAsync(ct); // the old wraps: out of free pages and the WAL
            await RecordKeyVersionsAsync(actor, account, before, ct);
            return detail;
        }, ct);

    /// <summary>
    /// A reset in which the administrator never knows a password: a new key version wrapped to a one-time
    /// enrolment token (returned, shown once) and to recovery; every credential replaced; mail sealed to the
    /// old key readable again only through recovery; the owner told in their inbox. Also how an expired
    /// enrolment token is replaced.
    /// </summary>
    [Requires(Operation.AccountPasswordReset)]
    public Task<(string Token, DateTimeOffset ExpiresAt)> ResetForEnrolmentAsync(Actor actor, string address, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.PasswordReset, AccountTarget(address), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            guard.Require(actor, Operation.AccountPasswordReset, await ScopeOfAsync(account, ct));
            if (account.State == AccountState.Deleted)
            {
                throw SealpostException.Conflict($"account '{account.Address}' is deleted");
            }

            var before = (await Dir.ListAccountKeysAsync(account.Id, ct)).Select(k => k.Version).DefaultIfEmpty(0).Max();
            var (session, token, expires) = await vault.ResetForEnrolmentAsync(account, ct);
            using (session)
            {
                await mailboxes.ResealSpecialMailboxesAsync(account.Id, session.Names, ct);
                await notices.PasswordWasResetAsync(account, session, actor.Name, ct);
            }

            CoreLog.CredentialReplaced(logger, account.Id);
            await store.ScrubAsync(ct);
            await RecordKeyVersionsAsync(actor, account, before, ct);
            return ((token, expires), (string?)$"enrolment token issued, expires {expires:yyyy-MM-ddTHH:mm}Z");
        }, ct);

    /// <summary>Replaces the account's key pair; the owner's password proves the right to.</summary>
    [Requires(Operation.OwnKeyRotate)]
    public Task RotateKeyAsync(Actor actor, string address, string password, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.KeyRotated, DomainName.Printable(address.Trim()), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            RequireOwnerOrAdministrator(actor, Operation.OwnKeyRotate, await ScopeOfAsync(account, ct));
            var before = (await Dir.ListAccountKeysAsync(account.Id, ct)).Select(k => k.Version).DefaultIfEmpty(0).Max();
            await vault.RotateKeyAsync(account, password, ct);
            CoreLog.CredentialReplaced(logger, account.Id);
            await store.ScrubAsync(ct);
            await RecordKeyVersionsAsync(actor, account, before, ct);
            return (string?)null;
        }, ct);

    /// <summary>
    /// The owner's address for security notices (a reset of their password is told there too): outside
    /// this mail system, so whoever can reset the password can neither read nor erase the notice. Only
    /// the owner sets it; empty clears it.
    /// </summary>
    [Requires(Operation.OwnCredentialsManage)]
    public Task SetNotifyAddressAsync(Actor actor, string address, string notifyAddress, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.NotifyAddressChanged, AccountTarget(address), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            guard.Require(actor, Operation.OwnCredentialsManage, await ScopeOfAsync(account, ct));
            if (actor.AccountId != account.Id)
            {
                throw new SealpostException(ErrorKind.Forbidden, "only the owner chooses where their security notices go");
            }

            var value = (notifyAddress ?? "").Trim();
            if (value.Length == 0)
            {
                await Dir.SetNotifyAddressAsync(account.Id, "", ct);
                return (string?)"cleared";
            }

            if (!MailAddress.TryParse(value, out var parsed, out _) || value.Length > 254)
            {
                throw SealpostException.Invalid($"'{DomainName.Printable(value.Length <= 100 ? value : value[..100])}' is not a mail address");
            }

            if (await Dir.FindDomainAsync(parsed.Domain, ct) is not null)
            {
                throw SealpostException.Invalid("choose an address outside this mail system: the point is a channel an administrator here cannot reach");
            }

            await Dir.SetNotifyAddressAsync(account.Id, parsed.ToString(), ct);
            return (string?)$"set to an address at {parsed.Domain.Ascii}";
        }, ct);

    /// <summary>Issues an app password; the owner's password unlocks the key it will wrap.</summary>
    [Requires(Operation.OwnAppPasswordCreate)]
    public Task<string> CreateAppPasswordAsync(Actor actor, string address, string password, string label, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AppPasswordCreated, DomainName.Printable(address.Trim()), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            RequireOwnerOrAdministrator(actor, Operation.OwnAppPasswordCreate, await ScopeOfAsync(account, ct));
            var (_, session) = await LoginAsync(address, password, ct) ?? throw new SealpostException(ErrorKind.Forbidden, "wrong password");
            using (session)
            {
                var secret = await vault.CreateAppPasswordAsync(session, label, ct);
                CoreLog.CredentialReplaced(logger, account.Id);
                return (secret, (string?)$"label {DomainName.Printable(label)}");
            }
        }, ct);

    [Requires(Operation.AccountSetState)]
    public Task SetStateAsync(Actor actor, string address, AccountState state, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, state switch { AccountState.Active => AuditAction.AccountActivated, AccountState.Suspended => AuditAction.AccountSuspended, _ => AuditAction.AccountDeleted },
            DomainName.Printable(address.Trim()), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            guard.Require(actor, Operation.AccountSetState, await ScopeOfAsync(account, ct));
            if (account.State == AccountState.Deleted && state != AccountState.Deleted)
            {
                throw SealpostException.Conflict($"account '{account.Address}' is deleted and cannot be reactivated");
            }

            await Dir.SetAccountStateAsync(account.Id, state, ct);
            AccountsChanged?.Invoke();
            CoreLog.AccountStateChanged(logger, account.Id, state);
            return (string?)null;
        }, ct);

    /// <summary>
    /// Crypto-shreds a suspended or deleted account: every wrap of its private keys (credentials and
    /// recovery) is removed first, so nothing sealed to it can be opened again; then its folders and
    /// messages are deleted (a blob nobody else references goes with its file), its sessions and second
    /// factor are dropped, and it stays deleted with its address reserved. Not undoable.
    /// </summary>
    [Requires(Operation.AccountShred)]
    public Task ShredAccountAsync(Actor actor, string address, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AccountShredded, DomainName.Printable(address.Trim()), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            guard.Require(actor, Operation.AccountShred, await ScopeOfAsync(account, ct));
            if (account.State == AccountState.Active)
            {
                throw SealpostException.Conflict($"account '{account.Address}' is active: suspend or delete it first");
            }

            var (mailboxes, messages) = await ShredAsync(account, ct);
            CoreLog.AccountStateChanged(logger, account.Id, AccountState.Deleted);
            return (string?)$"{mailboxes} folders, {messages} messages";
        }, ct);

    /// <summary>Shreds every deleted account whose retention has passed (the server's sweep); returns how many.</summary>
    [Requires(Operation.AccountShred)]
    public async Task<int> ShredExpiredAsync(Actor actor, TimeSpan retention, DateTimeOffset now, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.AccountShred, Scope.Platform);
        var shredded = 0;
        foreach (var account in await Dir.ListAccountsAsync(null, ct))
        {
            if (account.State == AccountState.Deleted && account.StateChangedAt + retention <= now && !await IsShreddedAsync(account, ct))
            {
                await ShredAccountAsync(actor, account.Address.ToString(), ct);
                shredded++;
            }
        }

        return shredded;
    }

    private async Task<bool> IsShreddedAsync(Account account, CancellationToken ct) =>
        (await Dir.ListCredentialsAsync(account.Id, ct)).Count == 0
        && (await Dir.ListRecoveryWrapsAsync(account.Id, ct)).Count == 0
        && (await store.Mail.ListMailboxesAsync(account.Id, ct)).Count == 0;

    private async Task<(int Mailboxes, long Messages)> ShredAsync(Account account, CancellationToken ct)
    {
        // Keys first: once no wrap is left, whatever remains is unreadable even if the rest fails.
        await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id) { RemoveAllCredentials = true, RemoveAllRecoveryWraps = true }, ct);
        await Dir.RevokeApiCredentialsAsync(account.Id, null, null, DateTimeOffset.UtcNow, ct);
        await Dir.RemoveSecondFactorAsync(account.Id, ct);
        var usage = await store.Mail.GetUsageAsync(account.Id, ct);
        var removed = 0;
        while ((await store.Mail.ListMailboxesAsync(account.Id, ct)) is { Count: > 0 } left)
        {
            // Leaves first: a folder with children cannot go.
            var parents = left.Select(m => m.ParentId).ToHashSet();
            foreach (var leaf in left.Where(m => !parents.Contains(m.Id)))
            {
                await store.Mail.DeleteMailboxAsync(leaf.Id, ct);
                removed++;
            }
        }

        foreach (var detached in await store.Mail.ListDetachedSubscriptionsAsync(account.Id, ct))
        {
            await store.Mail.RemoveDetachedSubscriptionAsync(account.Id, detached.NameKey, ct);
        }

        if (account.State != AccountState.Deleted)
        {
            await Dir.SetAccountStateAsync(account.Id, AccountState.Deleted, ct);
        }

        AccountsChanged?.Invoke();
        await store.Mail.SweepOrphansAsync(TimeSpan.FromHours(1), ct);
        await store.ScrubAsync(ct);
        return (removed, usage.Messages);
    }

    // ---- roles ----

    [Requires(Operation.RoleGrant)]
    public Task GrantRoleAsync(Actor actor, string address, Role role, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.RoleGranted, DomainName.Printable(address.Trim()), async () =>
        {
            guard.Require(actor, Operation.RoleGrant, Scope.Platform);
            var account = await RequireAccountAsync(address, ct);
            await Dir.SetAccountRolesAsync(account.Id, account.Roles | RoleNames.Flag(role), ct);
            return (string?)RoleNames.Of(role);
        }, ct);

    [Requires(Operation.RoleRevoke)]
    public Task RevokeRoleAsync(Actor actor, string address, Role role, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.RoleRevoked, DomainName.Printable(address.Trim()), async () =>
        {
            guard.Require(actor, Operation.RoleRevoke, Scope.Platform);
            if (role == Role.User)
            {
                throw SealpostException.Invalid("every account keeps the user role");
            }

            var account = await RequireAccountAsync(address, ct);
            await Dir.SetAccountRolesAsync(account.Id, account.Roles & ~RoleNames.Flag(role), ct);
            return (string?)RoleNames.Of(role);
        }, ct);

    /// <summary>Accounts holding a role beyond <c>user</c>.</summary>
    [Requires(Operation.RoleList)]
    public async Task<IReadOnlyList<Account>> ListRoleHoldersAsync(Actor actor, CancellationToken ct = default)
    {
        await guard.RequireAsync(actor, Operation.RoleList, Scope.Platform);
        return (await Dir.ListAccountsAsync(null, ct)).Where(a => (a.Roles & ~AccountRoles.User) != AccountRoles.None).ToList();
    }

    // ---- lockouts ----

    [Requires(Operation.LockoutList)]
    public async Task<IReadOnlyList<Lockout>> ListLockoutsAsync(Actor actor, CancellationToken ct = default)
    {
        var platform = guard.Allows(actor, Operation.LockoutList, Scope.Platform);
        if (!platform)
        {
            await guard.RequireAsync(actor, Operation.LockoutList, Scope.OfTenant(actor.TenantId ?? -1));
        }

        var accounts = new List<string>();
        foreach (var a in await Dir.ListAccountsAsync(null, ct))
        {
            if (platform || guard.Allows(actor, Operation.LockoutList, await ScopeOfAsync(a, ct)))
            {
                accounts.Add(a.Address.ToString());
            }
        }

        var locked = await throttle.LockedAsync(accounts, ct);
        // Client addresses are platform-wide: a tenant's administrator sees only its accounts.
        return platform ? locked : locked.Where(l => l.Kind == "account").ToList();
    }

    [Requires(Operation.LockoutUnlock)]
    public Task UnlockAsync(Actor actor, string address, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.LockoutLifted, DomainName.Printable(address.Trim()), async () =>
        {
            var account = await RequireAccountAsync(address, ct);
            guard.Require(actor, Operation.LockoutUnlock, await ScopeOfAsync(account, ct));
            await throttle.UnlockAccountAsync(account.Address.ToString(), ct);
            CoreLog.LockoutLifted(logger, account.Id);
            return (string?)null;
        }, ct);

    // ---- logins ----

    /// <summary>
    /// A login with a password or app password: the account and its unlocked session, or null. The
    /// same answer and the same work for "no such user", "wrong password" and "not active". Not an
    /// entry point: <see cref="AuthenticationService"/> wraps it with throttling and the audit record.
    /// </summary>
    internal async Task<(Account Account, IAccountSession Session)?> LoginAsync(string address, string secret, CancellationToken ct = default)
    {
        if (!MailAddress.TryParse(address, out var parsed, out _) || secret.Length is 0 or > MaximumPasswordLength)
        {
            return null;
        }

        var account = await Dir.FindAccountAsync(parsed, ct);
        if (account is null)
        {
            await vault.SpendPasswordWorkAsync(secret, ct);
            CoreLog.LoginFailed(logger, redactor.Address(parsed), "unknown");
            return null;
        }

        var session = await vault.UnlockAsync(account, secret, ct);
        if (session is null || account.State != AccountState.Active)
        {
            session?.Dispose();
            CoreLog.LoginFailed(logger, redactor.Address(parsed), session is null ? "bad credential" : "not active");
            return null;
        }

        return (account, session);
    }

    /// <summary>Checks a login and drops the session: the account if it may log in (tests and benchmarks).</summary>
    internal async Task<Account?> VerifyPasswordAsync(string address, string secret, CancellationToken ct = default)
    {
        var login = await LoginAsync(address, secret, ct);
        login?.Session.Dispose();
        return login?.Account;
    }

    // ---- aliases and groups ----

    [Requires(Operation.AliasAdd)]
    public Task AddAliasAsync(Actor actor, string alias, string target, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AliasAdded, DomainName.Printable(alias.Trim()), async () =>
        {
            var aliasAddress = MailAddress.Parse(alias);
            var targetAddress = MailAddress.Parse(target);
            var domain = await RequireDomainAsync(aliasAddress.Domain, ct);
            guard.Require(actor, Operation.AliasAdd, Scope.OfTenant(domain.TenantId));
            if (aliasAddress.Equals(targetAddress))
            {
                throw SealpostException.Invalid("an alias cannot point to itself");
            }

            // A target in a local domain must exist; a remote target is a forward.
            if (await Dir.FindDomainAsync(targetAddress.Domain, ct) is not null && await Dir.ResolveAddressAsync(targetAddress, ct) is null)
            {
                throw SealpostException.NotFound($"alias target '{targetAddress}' does not exist");
            }

            await Dir.AddAliasAsync(domain.Id, aliasAddress, targetAddress, ct);
            CoreLog.AliasAdded(logger, redactor.Address(aliasAddress));
            return (string?)$"to {targetAddress}";
        }, ct);

    [Requires(Operation.AliasRemove)]
    public Task RemoveAliasAsync(Actor actor, string alias, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.AliasRemoved, DomainName.Printable(alias.Trim()), async () =>
        {
            var aliasAddress = MailAddress.Parse(alias);
            var domain = await RequireDomainAsync(aliasAddress.Domain, ct);
            guard.Require(actor, Operation.AliasRemove, Scope.OfTenant(domain.TenantId));
            await Dir.RemoveAliasAsync(aliasAddress, ct);
            CoreLog.AliasRemoved(logger, redactor.Address(aliasAddress));
            return (string?)null;
        }, ct);

    [Requires(Operation.AliasList)]
    public async Task<IReadOnlyList<AddressEntry>> ListAliasesAsync(Actor actor, CancellationToken ct = default)
    {
        var visible = await VisibleDomainIdsAsync(actor, Operation.AliasList, ct);
        return (await Dir.ListAliasesAsync(null, ct)).Where(a => visible.Contains(a.Address.Domain.Ascii)).ToList();
    }

    [Requires(Operation.GroupCreate)]
    public Task<DistributionGroup> AddGroupAsync(Actor actor, string address, string? displayName, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.GroupCreated, DomainName.Printable(address.Trim()), async () =>
        {
            var parsed = MailAddress.Parse(address);
            var domain = await RequireDomainAsync(parsed.Domain, ct);
            guard.Require(actor, Operation.GroupCreate, Scope.OfTenant(domain.TenantId));
            var group = await Dir.CreateGroupAsync(domain.Id, parsed, string.IsNullOrWhiteSpace(displayName) ? parsed.LocalPart : displayName.Trim(), ct);
            CoreLog.GroupCreated(logger, group.Id, redactor.Address(parsed));
            return (group, (string?)null);
        }, ct);

    public async Task<DistributionGroup> RequireGroupAsync(string address, CancellationToken ct = default) =>
        await Dir.FindGroupAsync(MailAddress.Parse(address), ct)
        ?? throw SealpostException.NotFound($"no group '{DomainName.Printable(address)}'");

    [Requires(Operation.GroupMembersChange)]
    public Task AddGroupMemberAsync(Actor actor, string groupAddress, string member, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.GroupMemberAdded, DomainName.Printable(groupAddress.Trim()), async () =>
        {
            var group = await RequireGroupAsync(groupAddress, ct);
            guard.Require(actor, Operation.GroupMembersChange, Scope.OfTenant(await TenantOfDomainAsync(group.DomainId, ct)));
            var memberAddress = MailAddress.Parse(member);
            var entry = await Dir.ResolveAddressAsync(memberAddress, ct);
            var isLocal = await Dir.FindDomainAsync(memberAddress.Domain, ct) is not null;
            if (isLocal && entry is null)
            {
                throw SealpostException.NotFound($"member '{memberAddress}' does not exist");
            }

            if (await FollowAliasesAsync(entry, ct) is { Kind: AddressKind.Group, GroupId: { } memberGroupId } && await ReachesGroupAsync(memberGroupId, group.Id, ct))
            {
                throw SealpostException.Conflict($"adding '{memberAddress}' to '{group.Address}' would make a loop");
            }

            await Dir.AddGroupMemberAsync(group.Id, memberAddress, ct);
            CoreLog.GroupMembershipChanged(logger, group.Id, redactor.Address(memberAddress), "added");
            return (string?)$"member {memberAddress}";
        }, ct);

    [Requires(Operation.GroupMembersChange)]
    public Task RemoveGroupMemberAsync(Actor actor, string groupAddress, string member, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.GroupMemberRemoved, DomainName.Printable(groupAddress.Trim()), async () =>
        {
            var group = await RequireGroupAsync(groupAddress, ct);
            guard.Require(actor, Operation.GroupMembersChange, Scope.OfTenant(await TenantOfDomainAsync(group.DomainId, ct)));
            var memberAddress = MailAddress.Parse(member);
            await Dir.RemoveGroupMemberAsync(group.Id, memberAddress, ct);
            CoreLog.GroupMembershipChanged(logger, group.Id, redactor.Address(memberAddress), "removed");
            return (string?)$"member {memberAddress}";
        }, ct);

    [Requires(Operation.GroupList)]
    public async Task<IReadOnlyList<(DistributionGroup Group, IReadOnlyList<(MailAddress Address, AddressKind? Kind)> Members)>> ListGroupsAsync(Actor actor, string? onlyGroup = null, CancellationToken ct = default)
    {
        var visible = await VisibleDomainIdsAsync(actor, Operation.GroupList, ct);
        IReadOnlyList<DistributionGroup> groups = onlyGroup is null ? await Dir.ListGroupsAsync(null, ct) : [await RequireGroupAsync(onlyGroup, ct)];
        var result = new List<(DistributionGroup, IReadOnlyList<(MailAddress, AddressKind?)>)>();
        foreach (var g in groups.Where(g => visible.Contains(g.Address.Domain.Ascii)))
        {
            var members = new List<(MailAddress, AddressKind?)>();
            foreach (var m in await Dir.ListGroupMembersAsync(g.Id, ct))
            {
                members.Add((m, (await Dir.ResolveAddressAsync(m, ct))?.Kind));
            }

            result.Add((g, members));
        }

        if (onlyGroup is not null && result.Count == 0)
        {
            throw await RefuseAsync(actor, Operation.GroupList);
        }

        return result;
    }

    // ---- helpers ----

    private async Task<HashSet<string>> VisibleDomainIdsAsync(Actor actor, Operation operation, CancellationToken ct)
    {
        var all = await Dir.ListDomainsAsync(ct);
        var visible = all.Where(d => guard.Allows(actor, operation, Scope.OfTenant(d.TenantId))).Select(d => d.Name.Ascii).ToHashSet(StringComparer.Ordinal);
        if (visible.Count == 0 && !guard.Allows(actor, operation, Scope.Platform) && !(actor.TenantId is { } t && guard.Allows(actor, operation, Scope.OfTenant(t))))
        {
            throw await RefuseAsync(actor, operation);
        }

        return visible;
    }

    private async Task<SealpostException> RefuseAsync(Actor actor, Operation operation)
    {
        try
        {
            await guard.RequireAsync(actor, operation, new Scope(-1, -1));
        }
        catch (SealpostException ex)
        {
            return ex;
        }

        return new SealpostException(ErrorKind.Forbidden, "not permitted");
    }

    /// <summary>The owner acting on their own account, or an administrator of its tenant who was given the owner's password.</summary>
    private void RequireOwnerOrAdministrator(Actor actor, Operation ownOperation, Scope scope)
    {
        if (!guard.Allows(actor, ownOperation, scope))
        {
            guard.Require(actor, Operation.AccountPasswordReset, scope);
        }
    }

    /// <summary>
    /// Every public key version made for the account since <paramref name="afterVersion"/> gets its
    /// own record with its fingerprint: the trail is also the log that shows a key substitution.
    /// </summary>
    private async Task RecordKeyVersionsAsync(Actor actor, Account account, int afterVersion, CancellationToken ct)
    {
        foreach (var key in (await Dir.ListAccountKeysAsync(account.Id, ct)).Where(k => k.Version > afterVersion).OrderBy(k => k.Version))
        {
            await guard.Audit.RecordAsync(AuditEvent.Of(actor, AuditAction.KeyVersionCreated, account.Address.ToString(), AuditOutcome.Success, KeyVersionDetail(key)), Audit.AuditDurability.Store);
        }
    }

    /// <summary>What a key version's audit record says: its number and the SHA-256 fingerprint of its public key.</summary>
    public static string KeyVersionDetail(AccountKey key) => $"v{key.Version} sha256:{Convert.ToHexStringLower(SHA256.HashData(key.PublicKey))}";

    private static string RolesText(AccountRoles roles) => string.Join(",", Actor.RolesOf(roles).Order().Select(RoleNames.Of));

    /// <summary>True if group <paramref name="from"/> is, or contains (through any nesting or alias), group <paramref name="target"/>.</summary>
    private async Task<bool> ReachesGroupAsync(long from, long target, CancellationToken ct)
    {
        var seen = new HashSet<long>();
        var pending = new Stack<long>();
        pending.Push(from);
        while (pending.Count > 0)
        {
            var id = pending.Pop();
            if (id == target)
            {
                return true;
            }

            if (!seen.Add(id))
            {
                continue;
            }

            foreach (var member in await Dir.ListGroupMembersAsync(id, ct))
            {
                if (await FollowAliasesAsync(await Dir.ResolveAddressAsync(member, ct), ct) is { Kind: AddressKind.Group, GroupId: { } nested })
                {
                    pending.Push(nested);
                }
            }
        }

        return false;
    }

    /// <summary>What an alias chain finally points to (bounded, so an alias loop cannot hang us).</summary>
    private async Task<AddressEntry?> FollowAliasesAsync(AddressEntry? entry, CancellationToken ct)
    {
        for (var hops = 0; entry is { Kind: AddressKind.Alias, AliasTarget: { } target } && hops < 16; hops++)
        {
            entry = await Dir.ResolveAddressAsync(target, ct);
        }

        return entry;
    }

    private static void CheckPasswordPolicy(string password, MailAddress? owner = null) => Administration.PasswordPolicy.Check(password, owner);
}
