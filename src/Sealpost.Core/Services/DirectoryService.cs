using Microsoft.Extensions.Logging;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Logging;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;

namespace Sealpost.Core.Services;

/// <summary>
/// Directory rules above the store: names are validated, every address lives in one namespace,
/// domains are removed only when empty, group nesting never forms a loop, and every account gets
/// its special folders. The CLI, the REST API and tests all go through here.
/// </summary>
public sealed class DirectoryService(
    ISealpostStore store,
    IAccountVault vault,
    MailboxService mailboxes,
    LogRedactor redactor,
    ILogger<DirectoryService> logger)
{
    /// <summary>Minimum length of a human password (NIST SP 800-63B §5.1.1.2).</summary>
    public const int MinimumPasswordLength = 8;

    /// <summary>Longest password accepted, so hashing cost stays bounded.</summary>
    public const int MaximumPasswordLength = 1024;

    private IDirectoryStore Dir => store.Directory;

    public async Task<Tenant> AddTenantAsync(string name, string? displayName, CancellationToken ct = default)
    {
        var normalised = name.Trim().ToLowerInvariant();
        if (normalised.Length is 0 or > 63 || !normalised.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') || normalised[0] == '-')
        {
            throw SealpostException.Invalid($"tenant name '{DomainName.Printable(name)}' must be 1-63 characters of a-z, 0-9 and '-'");
        }

        var tenant = await Dir.CreateTenantAsync(normalised, string.IsNullOrWhiteSpace(displayName) ? normalised : displayName.Trim(), ct);
        CoreLog.TenantCreated(logger, tenant.Id);
        return tenant;
    }

    public async Task<Tenant> RequireTenantAsync(string name, CancellationToken ct = default) =>
        await Dir.FindTenantAsync(name.Trim().ToLowerInvariant(), ct)
        ?? throw SealpostException.NotFound($"no tenant named '{DomainName.Printable(name)}' (see 'sealpost tenant list')");

    public async Task<MailDomain> AddDomainAsync(string domain, string tenantName, CancellationToken ct = default)
    {
        var name = DomainName.Parse(domain);
        var tenant = await RequireTenantAsync(tenantName, ct);
        var added = await Dir.AddDomainAsync(tenant.Id, name, ct);
        CoreLog.DomainAdded(logger, redactor.Domain(name), tenant.Id);
        return added;
    }

    public async Task<MailDomain> RequireDomainAsync(DomainName name, CancellationToken ct = default) =>
        await Dir.FindDomainAsync(name, ct) ?? throw SealpostException.NotFound($"'{name.Unicode}' is not a local domain");

    public async Task RemoveDomainAsync(string domain, CancellationToken ct = default)
    {
        var found = await RequireDomainAsync(DomainName.Parse(domain), ct);
        await Dir.RemoveDomainAsync(found.Id, ct);
        CoreLog.DomainRemoved(logger, redactor.Domain(found.Name));
    }

    public async Task<Account> AddUserAsync(string address, string password, string? displayName, long quotaBytes, AccountRoles roles = AccountRoles.User, CancellationToken ct = default)
    {
        var parsed = MailAddress.Parse(address);
        var domain = await RequireDomainAsync(parsed.Domain, ct);
        CheckPasswordPolicy(password);
        if (quotaBytes < 0)
        {
            throw SealpostException.Invalid("quota must be 0 (none) or a positive number of bytes");
        }

        var account = await Dir.CreateAccountAsync(
            new NewAccount(domain.Id, parsed, string.IsNullOrWhiteSpace(displayName) ? parsed.LocalPart : displayName.Trim(), quotaBytes, roles | AccountRoles.User), ct);
        using (var session = await vault.ProvisionAsync(account, password, ct))
        {
            await mailboxes.EnsureSpecialMailboxesAsync(account.Id, session.Names, ct);
        }

        CoreLog.AccountCreated(logger, account.Id, redactor.Address(parsed));
        return (await Dir.GetAccountAsync(account.Id, ct))!;
    }

    public async Task<Account> RequireAccountAsync(string address, CancellationToken ct = default) =>
        await Dir.FindAccountAsync(MailAddress.Parse(address), ct)
        ?? throw SealpostException.NotFound($"no account '{DomainName.Printable(address)}'");

    /// <summary>
    /// Changes a password. With the old password the account key is re-wrapped and nothing else
    /// changes. Without it this is a reset: a new key pair, mail sealed to the old key readable again
    /// only through recovery, every credential replaced, and the owner told in their inbox.
    /// </summary>
    public async Task SetPasswordAsync(string address, string newPassword, string? oldPassword, CancellationToken ct = default)
    {
        var account = await RequireAccountAsync(address, ct);
        if (account.State == AccountState.Deleted)
        {
            throw SealpostException.Conflict($"account '{account.Address}' is deleted");
        }

        CheckPasswordPolicy(newPassword);
        if (oldPassword is not null)
        {
            await vault.ChangePasswordAsync(account, oldPassword, newPassword, ct);
        }
        else
        {
            using var session = await vault.ResetPasswordAsync(account, newPassword, ct);
            await mailboxes.ResealSpecialMailboxesAsync(account.Id, session.Names, ct);
        }

        CoreLog.CredentialReplaced(logger, account.Id);
    }

    /// <summary>Replaces the account's key pair; the owner's password proves the right to.</summary>
    public async Task RotateKeyAsync(string address, string password, CancellationToken ct = default)
    {
        var account = await RequireAccountAsync(address, ct);
        await vault.RotateKeyAsync(account, password, ct);
        CoreLog.CredentialReplaced(logger, account.Id);
    }

    /// <summary>Issues an app password; the owner's password unlocks the key it will wrap.</summary>
    public async Task<string> CreateAppPasswordAsync(string address, string password, string label, CancellationToken ct = default)
    {
        var (account, session) = await LoginAsync(address, password, ct) ?? throw new SealpostException(ErrorKind.Forbidden, "wrong password");
        using (session)
        {
            var secret = await vault.CreateAppPasswordAsync(session, label, ct);
            CoreLog.CredentialReplaced(logger, account.Id);
            return secret;
        }
    }

    public async Task SetStateAsync(string address, AccountState state, CancellationToken ct = default)
    {
        var account = await RequireAccountAsync(address, ct);
        if (account.State == AccountState.Deleted && state != AccountState.Deleted)
        {
            throw SealpostException.Conflict($"account '{account.Address}' is deleted and cannot be reactivated");
        }

        await Dir.SetAccountStateAsync(account.Id, state, ct);
        CoreLog.AccountStateChanged(logger, account.Id, state);
    }

    /// <summary>
    /// A login with a password or app password: the account and its unlocked session, or null. The
    /// same answer and the same work for "no such user", "wrong password" and "not active".
    /// </summary>
    public async Task<(Account Account, IAccountSession Session)?> LoginAsync(string address, string secret, CancellationToken ct = default)
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

    /// <summary>Checks a login and drops the session: the account if it may log in.</summary>
    public async Task<Account?> VerifyPasswordAsync(string address, string secret, CancellationToken ct = default)
    {
        var login = await LoginAsync(address, secret, ct);
        login?.Session.Dispose();
        return login?.Account;
    }

    public async Task AddAliasAsync(string alias, string target, CancellationToken ct = default)
    {
        var aliasAddress = MailAddress.Parse(alias);
        var targetAddress = MailAddress.Parse(target);
        var domain = await RequireDomainAsync(aliasAddress.Domain, ct);
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
    }

    public async Task RemoveAliasAsync(string alias, CancellationToken ct = default)
    {
        var aliasAddress = MailAddress.Parse(alias);
        await Dir.RemoveAliasAsync(aliasAddress, ct);
        CoreLog.AliasRemoved(logger, redactor.Address(aliasAddress));
    }

    public async Task<DistributionGroup> AddGroupAsync(string address, string? displayName, CancellationToken ct = default)
    {
        var parsed = MailAddress.Parse(address);
        var domain = await RequireDomainAsync(parsed.Domain, ct);
        var group = await Dir.CreateGroupAsync(domain.Id, parsed, string.IsNullOrWhiteSpace(displayName) ? parsed.LocalPart : displayName.Trim(), ct);
        CoreLog.GroupCreated(logger, group.Id, redactor.Address(parsed));
        return group;
    }

    public async Task<DistributionGroup> RequireGroupAsync(string address, CancellationToken ct = default) =>
        await Dir.FindGroupAsync(MailAddress.Parse(address), ct)
        ?? throw SealpostException.NotFound($"no group '{DomainName.Printable(address)}'");

    public async Task AddGroupMemberAsync(string groupAddress, string member, CancellationToken ct = default)
    {
        var group = await RequireGroupAsync(groupAddress, ct);
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
    }

    public async Task RemoveGroupMemberAsync(string groupAddress, string member, CancellationToken ct = default)
    {
        var group = await RequireGroupAsync(groupAddress, ct);
        var memberAddress = MailAddress.Parse(member);
        await Dir.RemoveGroupMemberAsync(group.Id, memberAddress, ct);
        CoreLog.GroupMembershipChanged(logger, group.Id, redactor.Address(memberAddress), "removed");
    }

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

    private static void CheckPasswordPolicy(string password)
    {
        if (password.Length < MinimumPasswordLength)
        {
            throw SealpostException.Invalid($"password must be at least {MinimumPasswordLength} characters");
        }

        if (password.Length > MaximumPasswordLength)
        {
            throw SealpostException.Invalid($"password must be at most {MaximumPasswordLength} characters");
        }

        if (password.Any(char.IsControl))
        {
            throw SealpostException.Invalid("password must not contain control characters");
        }
    }
}
