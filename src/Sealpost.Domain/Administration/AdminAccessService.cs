using System.Security.Cryptography;
using System.Text;
using OtpNet;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Core.Storage;

namespace Sealpost.Domain.Administration;

public enum SignInOutcome
{
    /// <summary>A full session.</summary>
    Succeeded,
    /// <summary>The password was right, but the account's roles need a second factor it has not enrolled: a session that may only enrol.</summary>
    EnrolmentRequired,
    /// <summary>Wrong address, password or code (one answer for all).</summary>
    Failed,
    Throttled,
    Unavailable,
}

public sealed record SignInResult(SignInOutcome Outcome, string? Secret = null, ApiCredential? Session = null, string? Lockout = null);

/// <summary>Who is behind an API request: the actor the services check, the account and the session or token used.</summary>
public sealed record ApiPrincipal(Actor Actor, Account Account, ApiCredential Credential)
{
    /// <summary>A session that passed the password but not a second factor its account needs: it may enrol TOTP, nothing else.</summary>
    public bool Restricted => !Credential.SecondFactor;

    /// <summary>The domains (A-labels) a token is limited to; empty: no limit beyond its roles.</summary>
    public IReadOnlyList<string> Domains => Credential.Domains;
}

/// <summary>What an authenticator app needs: the secret (base32) and the otpauth:// URI of Google's Key URI format.</summary>
public sealed record TotpEnrolment(string Secret, string Uri);

public sealed record ApiTokenIssued(ApiCredential Token, string Secret);

public sealed record AppPasswordView(long Id, string Label, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

/// <summary>
/// Administration over HTTPS: sign-in with password and TOTP (RFC 6238, mandatory for every role above
/// <c>user</c>), sessions and API tokens found by a keyed hash of their secret (never Argon2id per
/// request; the secret is shown once and never stored), TOTP enrolment with one-time recovery codes,
/// and the self-service a person does on their own account. Logins go through
/// <see cref="AuthenticationService"/>, so throttling and the audit record are the mail protocols' own.
/// </summary>
[DomainService]
public sealed class AdminAccessService(
    ISealpostStore store,
    AuthenticationService authentication,
    DirectoryService directory,
    AccessGuard guard,
    byte[] lookupKey,
    byte[] factorKey,
    string issuer,
    TimeSpan sessionLifetime,
    TimeSpan maxTokenLifetime,
    TimeProvider time,
    TimeSpan? sessionIdle = null)
{
    /// <summary>Prefixes make a leaked secret recognisable to secret scanners, and tell sessions from tokens.</summary>
    public const string SessionPrefix = "sps_";
    public const string TokenPrefix = "spt_";

    private const int RecoveryCodeCount = 10;
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private IDirectoryStore Dir => store.Directory;

    /// <summary>Whether an account must sign in with a second factor: every role above <c>user</c> does.</summary>
    public static bool NeedsSecondFactor(Account account) => (account.Roles & ~AccountRoles.User) != AccountRoles.None;

    // ---- sign-in ----

    /// <summary>
    /// Password, then TOTP (or a recovery code) if the account has enrolled one. An account whose roles
    /// need a second factor it has not enrolled gets a session that may only enrol.
    /// </summary>
    [Requires(Operation.Login)]
    public async Task<SignInResult> SignInAsync(Actor client, string address, string password, string? code, CancellationToken ct = default)
    {
        var passed = false;
        var recoveryUsed = false;
        var login = await authentication.LoginAsync(client, address, password, string.IsNullOrEmpty(code) ? "password" : "password+totp", ct, async account =>
        {
            var factor = await Dir.GetSecondFactorAsync(account.Id, ct);
            if (factor is not { Confirmed: true })
            {
                passed = !NeedsSecondFactor(account);
                return null;
            }

            if (string.IsNullOrWhiteSpace(code))
            {
                return "second factor missing";
            }

            switch (await VerifyCodeAsync(factor, code, allowRecovery: true, ct))
            {
                case CodeCheck.Totp:
                    passed = true;
                    return null;
                case CodeCheck.Recovery:
                    passed = recoveryUsed = true;
                    return null;
                default:
                    return "second factor wrong or replayed";
            }
        });

        switch (login.Outcome)
        {
            case LoginOutcome.Failed:
                return new SignInResult(SignInOutcome.Failed);
            case LoginOutcome.Throttled:
                return new SignInResult(SignInOutcome.Throttled, Lockout: login.Lockout);
            case LoginOutcome.Unavailable:
                return new SignInResult(SignInOutcome.Unavailable);
        }

        // API sessions never hold the unlocked account key: it is dropped at once.
        login.Session!.Dispose();
        var account = login.Account!;
        if (recoveryUsed)
        {
            await guard.RecordAsync(login.Actor!, AuditAction.RecoveryCodeUsed, account.Address.ToString(), AuditOutcome.Success);
        }

        var (secret, session) = await IssueAsync(account, ApiCredentialKind.Session, "sign-in", account.Roles, passed, time.GetUtcNow() + sessionLifetime, ct);
        return new SignInResult(passed ? SignInOutcome.Succeeded : SignInOutcome.EnrolmentRequired, secret, session);
    }

    /// <summary>
    /// The signed-in person proves again that they are at the keyboard before a sensitive action (a reset,
    /// a role change, an endorsement or a grant approval handed in from the console): their password, and
    /// a fresh TOTP code if they enrolled one. It counts as a login attempt (throttling, lockout and the
    /// audit trail apply), and a recovery code is not accepted here. Throws Forbidden when it fails.
    /// </summary>
    [Requires(Operation.Login)]
    public async Task ConfirmPresenceAsync(ApiPrincipal principal, string password, string? code, CancellationToken ct = default)
    {
        var client = Actor.Anonymous("console", principal.Actor.RemoteAddress, principal.Account.Address.ToString(), principal.Actor.CorrelationId);
        var login = await authentication.LoginAsync(client, principal.Account.Address.ToString(), password, "password-confirm", ct, async account =>
        {
            if (account.Id != principal.Account.Id)
            {
                return "another account";
            }

            var factor = await Dir.GetSecondFactorAsync(account.Id, ct);
            if (factor is not { Confirmed: true })
            {
                return null;
            }

            return string.IsNullOrWhiteSpace(code) ? "second factor missing"
                : await VerifyCodeAsync(factor, code, allowRecovery: false, ct) == CodeCheck.Totp ? null : "second factor wrong or replayed";
        });

        login.Session?.Dispose();
        switch (login.Outcome)
        {
            case LoginOutcome.Throttled:
                throw new SealpostException(ErrorKind.LimitExceeded, "too many failed attempts: try again later");
            case LoginOutcome.Unavailable:
                throw new SealpostException(ErrorKind.TemporarilyUnavailable, "temporarily unavailable");
            case LoginOutcome.Failed:
                throw new SealpostException(ErrorKind.Forbidden, "the password or authenticator code is wrong");
        }
    }

    /// <summary>
    /// The principal behind a session or token secret, or null (unknown, expired, revoked, or its
    /// account no longer active). The actor's roles are those the credential was given and the
    /// account still holds, so a revoked role takes effect at the next request.
    /// </summary>
    public async Task<ApiPrincipal?> AuthenticateAsync(string secret, string? remoteAddress, string correlationId, CancellationToken ct = default)
    {
        if (secret.Length is < 20 or > 100 || !(secret.StartsWith(SessionPrefix, StringComparison.Ordinal) || secret.StartsWith(TokenPrefix, StringComparison.Ordinal)))
        {
            return null;
        }

        var credential = await Dir.FindApiCredentialAsync(Lookup(secret), ct);
        var now = time.GetUtcNow();
        if (credential is null || !credential.IsLive(now))
        {
            return null;
        }

        // A session left unused ends (last use is noted to the minute); tokens are for unattended use.
        if (credential.Kind == ApiCredentialKind.Session && sessionIdle is { } idle && now - (credential.LastUsedAt ?? credential.CreatedAt) > idle + TouchInterval)
        {
            return null;
        }

        var account = await Dir.GetAccountAsync(credential.AccountId, ct);
        if (account is null || account.State != AccountState.Active)
        {
            return null;
        }

        var roles = credential.SecondFactor ? (credential.Roles & account.Roles) | AccountRoles.User : AccountRoles.User;
        var actor = await directory.ActorForAsync(account with { Roles = roles }, credential.Kind == ApiCredentialKind.Token ? "api-token" : "api", remoteAddress, correlationId, ct);
        if (credential.LastUsedAt is not { } used || now - used > TouchInterval)
        {
            await Dir.TouchApiCredentialAsync(credential.Id, now, ct);
        }

        return new ApiPrincipal(actor, account, credential);
    }

    /// <summary>Ends this session, or every session of the account.</summary>
    [Requires(Operation.OwnCredentialsManage)]
    public Task SignOutAsync(ApiPrincipal principal, bool everywhere, CancellationToken ct = default) =>
        guard.AdministerAsync(principal.Actor, AuditAction.ApiCredentialRevoked, principal.Account.Address.ToString(), async () =>
        {
            RequireOwn(principal, Operation.OwnCredentialsManage);
            var count = everywhere
                ? await Dir.RevokeApiCredentialsAsync(principal.Account.Id, null, ApiCredentialKind.Session, time.GetUtcNow(), ct)
                : await Dir.RevokeApiCredentialsAsync(principal.Account.Id, principal.Credential.Id, null, time.GetUtcNow(), ct);
            return (string?)(everywhere ? $"signed out everywhere ({count} sessions)" : "signed out");
        }, ct);

    // ---- API tokens ----

    /// <summary>Makes a token with some of the caller's roles, from a signed-in session; its secret is returned once.</summary>
    [Requires(Operation.OwnCredentialsManage)]
    public Task<ApiTokenIssued> CreateTokenAsync(ApiPrincipal principal, string label, IReadOnlyCollection<Role> roles, TimeSpan lifetime, CancellationToken ct = default,
        IReadOnlyCollection<string>? domains = null) =>
        guard.AdministerAsync(principal.Actor, AuditAction.ApiTokenCreated, principal.Account.Address.ToString(), async () =>
        {
            RequireOwn(principal, Operation.OwnCredentialsManage);
            if (principal.Credential.Kind != ApiCredentialKind.Session)
            {
                throw new SealpostException(ErrorKind.Forbidden, "tokens are made from a signed-in session, not with another token");
            }

            var name = CheckLabel(label);
            if (roles.Count == 0)
            {
                throw SealpostException.Invalid("roles: name at least one role the token may use");
            }

            var flags = AccountRoles.None;
            foreach (var role in roles)
            {
                if (role == Role.System || !principal.Actor.Has(role))
                {
                    throw new SealpostException(ErrorKind.Forbidden, $"roles: you do not hold '{RoleNames.Of(role)}', so a token of yours cannot");
                }

                flags |= RoleNames.Flag(role);
            }

            if (lifetime < TimeSpan.FromMinutes(5) || lifetime > maxTokenLifetime)
            {
                throw SealpostException.Invalid($"expiresInDays: a token lives between 5 minutes and {maxTokenLifetime.TotalDays:0} days");
            }

            var limit = new List<string>();
            if (domains is { Count: > 0 })
            {
                // Only domains the maker can see: a token narrows its maker's reach, never widens it.
                var visible = (await directory.ListDomainsAsync(principal.Actor, ct)).Select(d => d.Name.Ascii).ToHashSet(StringComparer.Ordinal);
                foreach (var text in domains)
                {
                    var domain = DomainName.TryParse(text, out var parsed, out _) ? parsed.Ascii : throw SealpostException.Invalid($"domains: '{DomainName.Printable(text)}' is not a domain name");
                    if (!visible.Contains(domain))
                    {
                        throw new SealpostException(ErrorKind.Forbidden, $"domains: '{domain}' is not a domain you administer");
                    }

                    limit.Add(domain);
                }
            }

            var (secret, token) = await IssueAsync(principal.Account, ApiCredentialKind.Token, name, flags, true, time.GetUtcNow() + lifetime, ct, limit.Distinct().ToList());
            return (new ApiTokenIssued(token, secret), (string?)$"token {token.Id} '{DomainName.Printable(name)}' roles {string.Join(',', roles.Select(RoleNames.Of))}"
                + (limit.Count > 0 ? $" domains {string.Join(',', limit)}" : "") + $" until {token.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}");
        }, ct);

    /// <summary>The caller's live sessions and tokens (never their secrets).</summary>
    [Requires(Operation.OwnCredentialsManage)]
    public async Task<IReadOnlyList<ApiCredential>> ListCredentialsAsync(ApiPrincipal principal, CancellationToken ct = default)
    {
        await guard.RequireAsync(principal.Actor, Operation.OwnCredentialsManage, OwnScope(principal));
        var now = time.GetUtcNow();
        return (await Dir.ListApiCredentialsAsync(principal.Account.Id, ct)).Where(c => c.IsLive(now)).ToList();
    }

    /// <summary>Revokes one of the caller's sessions or tokens; at once, on every node (each request looks it up).</summary>
    [Requires(Operation.OwnCredentialsManage)]
    public Task RevokeCredentialAsync(ApiPrincipal principal, long id, CancellationToken ct = default) =>
        guard.AdministerAsync(principal.Actor, AuditAction.ApiCredentialRevoked, principal.Account.Address.ToString(), async () =>
        {
            RequireOwn(principal, Operation.OwnCredentialsManage);
            if (await Dir.RevokeApiCredentialsAsync(principal.Account.Id, id, null, time.GetUtcNow(), ct) == 0)
            {
                throw SealpostException.NotFound($"no live session or token {id} of yours");
            }

            return (string?)$"credential {id}";
        }, ct);

    /// <summary>
    /// Records a request a domain-limited token made outside its domains, refused by the API before any
    /// service ran. Not an operation of its own: the record names the operation that was refused.
    /// </summary>
    public Task RecordOutsideDomainsAsync(Operation operation, ApiPrincipal principal, string target) =>
        guard.RecordRefusalAsync(principal.Actor, operation, target);

    // ---- TOTP ----

    /// <summary>Starts TOTP enrolment: a new secret, not yet in force until a code from it is confirmed.</summary>
    [Requires(Operation.OwnSecondFactorEnrol)]
    public async Task<TotpEnrolment> BeginTotpEnrolmentAsync(ApiPrincipal principal, CancellationToken ct = default)
    {
        await guard.RequireAsync(principal.Actor, Operation.OwnSecondFactorEnrol, OwnScope(principal));
        var account = principal.Account;
        if (await Dir.GetSecondFactorAsync(account.Id, ct) is { Confirmed: true })
        {
            throw SealpostException.Conflict("TOTP is already enrolled; if the device is lost, an administrator removes it and you enrol again");
        }

        var secret = RandomNumberGenerator.GetBytes(20);
        try
        {
            await Dir.SetSecondFactorAsync(new SecondFactor(account.Id, SealSecret(account.Id, secret), false, 0, ""), ct);
            var base32 = Base32Encoding.ToString(secret).TrimEnd('=');
            var label = Uri.EscapeDataString(issuer) + ":" + Uri.EscapeDataString(account.Address.ToString());
            return new TotpEnrolment(base32, $"otpauth://totp/{label}?secret={base32}&issuer={Uri.EscapeDataString(issuer)}&algorithm=SHA1&digits=6&period=30");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>Puts the enrolled secret in force with a code from the device; returns the recovery codes, shown once.</summary>
    [Requires(Operation.OwnSecondFactorEnrol)]
    public Task<IReadOnlyList<string>> ConfirmTotpEnrolmentAsync(ApiPrincipal principal, string code, CancellationToken ct = default) =>
        guard.AdministerAsync(principal.Actor, AuditAction.SecondFactorEnrolled, principal.Account.Address.ToString(), async () =>
        {
            RequireOwn(principal, Operation.OwnSecondFactorEnrol);
            var factor = await Dir.GetSecondFactorAsync(principal.Account.Id, ct);
            if (factor is null)
            {
                throw SealpostException.Conflict("start the enrolment first");
            }

            if (factor.Confirmed)
            {
                throw SealpostException.Conflict("TOTP is already enrolled");
            }

            if (await VerifyCodeAsync(factor, code, allowRecovery: false, ct) != CodeCheck.Totp)
            {
                throw SealpostException.Invalid("code: not the current code of the enrolled secret (check the device's clock)");
            }

            var codes = Enumerable.Range(0, RecoveryCodeCount).Select(_ => NewRecoveryCode()).ToList();
            var current = await Dir.GetSecondFactorAsync(principal.Account.Id, ct) ?? factor;
            await Dir.SetSecondFactorAsync(current with { Confirmed = true, RecoveryCodes = string.Join(' ', codes.Select(RecoveryHash)) }, ct);
            return ((IReadOnlyList<string>)codes, (string?)$"totp; {RecoveryCodeCount} recovery codes");
        }, ct);

    /// <summary>Removes an account's TOTP (a lost device) and ends its sessions; its owner signs in with the password and enrols again.</summary>
    [Requires(Operation.AccountSecondFactorReset)]
    public Task RemoveSecondFactorAsync(Actor actor, string address, CancellationToken ct = default) =>
        guard.AdministerAsync(actor, AuditAction.SecondFactorRemoved, DomainName.Printable(address.Trim()), async () =>
        {
            var account = await directory.RequireAccountAsync(address, ct);
            guard.Require(actor, Operation.AccountSecondFactorReset, Scope.OfAccount(await directory.TenantOfDomainAsync(account.DomainId, ct), account.Id));
            if (await Dir.GetSecondFactorAsync(account.Id, ct) is null)
            {
                throw SealpostException.NotFound($"'{account.Address}' has no second factor");
            }

            await Dir.RemoveSecondFactorAsync(account.Id, ct);
            await Dir.RevokeApiCredentialsAsync(account.Id, null, ApiCredentialKind.Session, time.GetUtcNow(), ct);
            return (string?)null;
        }, ct);

    /// <summary>Whether the account has a TOTP in force.</summary>
    public async Task<bool> HasSecondFactorAsync(Account account, CancellationToken ct = default) =>
        await Dir.GetSecondFactorAsync(account.Id, ct) is { Confirmed: true };

    // ---- self-service ----

    /// <summary>
    /// Changes one's own password with the current one: the account key is re-wrapped in the server,
    /// every app password keeps working, and every sign-in session ends (sign in again).
    /// </summary>
    [Requires(Operation.OwnPasswordChange)]
    public async Task ChangeOwnPasswordAsync(ApiPrincipal principal, string currentPassword, string newPassword, CancellationToken ct = default)
    {
        if (principal.Credential.Kind != ApiCredentialKind.Session)
        {
            await guard.RecordRefusalAsync(principal.Actor, Operation.OwnPasswordChange, principal.Account.Address.ToString());
            throw new SealpostException(ErrorKind.Forbidden, "a password is changed from a signed-in session, not with a token");
        }

        await directory.SetPasswordAsync(principal.Actor, principal.Account.Address.ToString(), newPassword, currentPassword, ct);
        await Dir.RevokeApiCredentialsAsync(principal.Account.Id, null, ApiCredentialKind.Session, time.GetUtcNow(), ct);
    }

    /// <summary>A new app password; the owner's password unlocks the key it wraps. The secret is returned once.</summary>
    [Requires(Operation.OwnAppPasswordCreate)]
    public Task<string> CreateAppPasswordAsync(ApiPrincipal principal, string password, string label, CancellationToken ct = default) =>
        directory.CreateAppPasswordAsync(principal.Actor, principal.Account.Address.ToString(), password, CheckLabel(label), ct);

    [Requires(Operation.OwnCredentialsManage)]
    public async Task<IReadOnlyList<AppPasswordView>> ListAppPasswordsAsync(ApiPrincipal principal, CancellationToken ct = default)
    {
        await guard.RequireAsync(principal.Actor, Operation.OwnCredentialsManage, OwnScope(principal));
        return (await Dir.ListCredentialsAsync(principal.Account.Id, ct))
            .Where(c => c.Kind == CredentialKind.AppPassword)
            .Select(c => new AppPasswordView(c.Id, c.Label, c.CreatedAt, c.LastUsedAt))
            .ToList();
    }

    /// <summary>Revokes one app password: its key wrap is deleted, and cached logins with it end at their next use.</summary>
    [Requires(Operation.OwnCredentialsManage)]
    public Task RevokeAppPasswordAsync(ApiPrincipal principal, long id, CancellationToken ct = default) =>
        guard.AdministerAsync(principal.Actor, AuditAction.AppPasswordRevoked, principal.Account.Address.ToString(), async () =>
        {
            RequireOwn(principal, Operation.OwnCredentialsManage);
            var credential = (await Dir.ListCredentialsAsync(principal.Account.Id, ct)).FirstOrDefault(c => c.Id == id && c.Kind == CredentialKind.AppPassword)
                ?? throw SealpostException.NotFound($"no app password {id} of yours");
            await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(principal.Account.Id) { RemoveCredentialIds = [credential.Id] }, ct);
            await store.ScrubAsync(ct);
            return (string?)$"app password {id} '{DomainName.Printable(credential.Label)}'";
        }, ct);

    // ---- internals ----

    private enum CodeCheck
    {
        Wrong,
        Totp,
        Recovery,
    }

    private async Task<CodeCheck> VerifyCodeAsync(SecondFactor factor, string code, bool allowRecovery, CancellationToken ct)
    {
        var trimmed = code.Trim().Replace(" ", "", StringComparison.Ordinal);
        if (trimmed.Length == 6 && trimmed.All(char.IsAsciiDigit))
        {
            var secret = OpenSecret(factor);
            try
            {
                // RFC 6238 §5.2: one step either way for clock drift; §5.2 also says a code is used once.
                if (new Totp(secret).VerifyTotp(time.GetUtcNow().UtcDateTime, trimmed, out var step, new VerificationWindow(1, 1)))
                {
                    return await Dir.AdvanceTotpStepAsync(factor.AccountId, step, ct) ? CodeCheck.Totp : CodeCheck.Wrong;
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }

            return CodeCheck.Wrong;
        }

        if (!allowRecovery || trimmed.Length is < 8 or > 40 || factor.RecoveryCodes.Length == 0)
        {
            return CodeCheck.Wrong;
        }

        var hash = RecoveryHash(trimmed);
        var codes = factor.RecoveryCodes.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (!codes.Remove(hash))
        {
            return CodeCheck.Wrong;
        }

        // One use per code, even if two nodes see it at once.
        return await Dir.ReplaceRecoveryCodesAsync(factor.AccountId, factor.RecoveryCodes, string.Join(' ', codes), ct) ? CodeCheck.Recovery : CodeCheck.Wrong;
    }

    private async Task<(string Secret, ApiCredential Credential)> IssueAsync(Account account, ApiCredentialKind kind, string label, AccountRoles roles, bool secondFactor, DateTimeOffset expires, CancellationToken ct,
        IReadOnlyList<string>? domains = null)
    {
        var secret = (kind == ApiCredentialKind.Session ? SessionPrefix : TokenPrefix) + Base64Url(RandomNumberGenerator.GetBytes(32));
        var credential = await Dir.CreateApiCredentialAsync(
            new NewApiCredential(account.Id, kind, label, roles | AccountRoles.User, secondFactor, Lookup(secret), expires) { Domains = domains ?? [] }, time.GetUtcNow(), ct);
        return (secret, credential);
    }

    private byte[] Lookup(string secret) => HMACSHA256.HashData(lookupKey, Encoding.UTF8.GetBytes(secret));

    private string RecoveryHash(string code) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(factorKey, Encoding.UTF8.GetBytes("recovery:" + code.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant())).AsSpan(0, 16));

    private static string NewRecoveryCode()
    {
        var text = Base32Encoding.ToString(RandomNumberGenerator.GetBytes(7)).ToLowerInvariant()[..10];
        return text[..5] + "-" + text[5..];
    }

    private static readonly byte[] SealLabel = "sealpost totp v1 "u8.ToArray();

    private byte[] SealSecret(long accountId, byte[] secret)
    {
        var nonce = RandomNumberGenerator.GetBytes(12);
        var sealedValue = new byte[12 + secret.Length + 16];
        nonce.CopyTo(sealedValue, 0);
        using var aes = new AesGcm(factorKey, 16);
        aes.Encrypt(nonce, secret, sealedValue.AsSpan(12, secret.Length), sealedValue.AsSpan(12 + secret.Length), Aad(accountId));
        return sealedValue;
    }

    private byte[] OpenSecret(SecondFactor factor)
    {
        var sealedValue = factor.SealedSecret;
        if (sealedValue.Length < 12 + 16)
        {
            throw SealpostException.Conflict("the stored second factor is damaged; an administrator removes it and the owner enrols again");
        }

        var secret = new byte[sealedValue.Length - 28];
        using var aes = new AesGcm(factorKey, 16);
        try
        {
            aes.Decrypt(sealedValue.AsSpan(0, 12), sealedValue.AsSpan(12, secret.Length), sealedValue.AsSpan(12 + secret.Length), secret, Aad(factor.AccountId));
        }
        catch (AuthenticationTagMismatchException)
        {
            // Moved to another account's row, or changed: never accepted.
            throw SealpostException.Conflict("the stored second factor does not belong to this account; an administrator removes it and the owner enrols again");
        }

        return secret;
    }

    private static byte[] Aad(long accountId) => [.. SealLabel, .. BitConverter.GetBytes(accountId)];

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string CheckLabel(string label)
    {
        var trimmed = label.Trim();
        if (trimmed.Length is 0 or > 100 || trimmed.Any(char.IsControl))
        {
            throw SealpostException.Invalid("label: 1 to 100 printable characters");
        }

        return trimmed;
    }

    private static Scope OwnScope(ApiPrincipal principal) => Scope.OfAccount(principal.Actor.TenantId ?? -1, principal.Account.Id);

    private void RequireOwn(ApiPrincipal principal, Operation operation) => guard.Require(principal.Actor, operation, OwnScope(principal));
}
