using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;
using Sealpost.Server;

namespace Sealpost.Cli;

public sealed record TenantRow(string Name, string DisplayName, DateTimeOffset CreatedAt);
public sealed record DomainRow(string Name, string Tenant, int? Accounts);

/// <summary>An account key version as signers see it: what they sign over (both public keys), never a private key.</summary>
public sealed record AccessGrantRow(string Id, string Grantee, string Mailbox, string Justification, string RequestedBy, DateTimeOffset RequestedAt,
    DateTimeOffset NotBefore, DateTimeOffset ExpiresAt, string State, IReadOnlyList<string> ApprovedBy, DateTimeOffset? EndedAt, string ApprovalPayload);

public sealed record KeyVersionRow(string Address, long AccountId, int Version, string State, string Reason, string Fingerprint, byte[] PublicKey, byte[]? SigningPublicKey, DateTimeOffset CreatedAt);
public sealed record AccountRow(string Address, string DisplayName, string State, long QuotaBytes, long UsedBytes);
public sealed record AliasRow(string Alias, string? Target);
public sealed record RoleHolderRow(string Address, IReadOnlyList<string> Roles);
public sealed record GroupMemberRow(string Address, string Kind);
public sealed record GroupRow(string Address, string DisplayName, IReadOnlyList<GroupMemberRow> Members);
public sealed record LockoutRow(string Kind, string Subject, int Failures, DateTimeOffset Until);
public sealed record DkimPublishedRow(string Selector, string Algorithm, string DnsRecord, DateTimeOffset Retired);
public sealed record DomainRecordRow(string Purpose, string Name, string Type, string Value, string Record);
public sealed record DkimRow(string Domain, string Selector, string Algorithm, DateTimeOffset Created, string DnsRecord, string ZoneLine, IReadOnlyList<DkimPublishedRow> Previous);
public sealed record QueueRecipientRow(string Address, string State, string? LastReply, string? Host, string? Tls);
public sealed record BackupRow(string Name, string Path, int Files, long Bytes);
public sealed record QueueRow(long Id, string State, string ReturnPath, long Size, int Attempts, DateTimeOffset CreatedAt, DateTimeOffset NextAttemptAt, IReadOnlyList<QueueRecipientRow> Recipients);

/// <summary>What an operator may do to a queued message.</summary>
public enum QueueAction
{
    Retry,
    Hold,
    Release,
    Delete,
}

/// <summary>
/// What the directory commands do, whoever does it: a signed-in administrator through a running
/// server's API (authorised and audited as that person), or, offline on the data folder, the local
/// administrator (a --dev folder, bootstrap, recovery).
/// </summary>
internal interface IAdministration : IAsyncDisposable
{
    Task<TenantRow> AddTenantAsync(string name, string? displayName, CancellationToken ct);
    Task<IReadOnlyList<TenantRow>> ListTenantsAsync(CancellationToken ct);
    Task<DomainRow> AddDomainAsync(string name, string tenant, CancellationToken ct);
    Task<IReadOnlyList<DomainRow>> ListDomainsAsync(CancellationToken ct);
    Task RemoveDomainAsync(string name, CancellationToken ct);
    Task<AccountRow> AddUserAsync(string address, string password, string? displayName, long? quotaBytes, CancellationToken ct);
    Task<(AccountRow Account, string Token, DateTimeOffset ExpiresAt)> AddUserForEnrolmentAsync(string address, string? displayName, long? quotaBytes, CancellationToken ct);
    Task<IReadOnlyList<AccountRow>> ListAccountsAsync(string? domain, CancellationToken ct);
    Task SetStateAsync(string address, AccountState state, CancellationToken ct);
    Task ShredAsync(string address, CancellationToken ct);
    Task AddAliasAsync(string alias, string target, CancellationToken ct);
    Task RemoveAliasAsync(string alias, CancellationToken ct);
    Task<IReadOnlyList<AliasRow>> ListAliasesAsync(CancellationToken ct);
    Task GrantRoleAsync(string address, Role role, CancellationToken ct);
    Task RevokeRoleAsync(string address, Role role, CancellationToken ct);
    Task<IReadOnlyList<RoleHolderRow>> ListRoleHoldersAsync(CancellationToken ct);
    Task<GroupRow> AddGroupAsync(string address, string? displayName, CancellationToken ct);
    Task ChangeGroupMembersAsync(string group, IReadOnlyList<string> add, IReadOnlyList<string> remove, CancellationToken ct);
    Task<IReadOnlyList<GroupRow>> ListGroupsAsync(CancellationToken ct);
    Task<IReadOnlyList<LockoutRow>> ListLockoutsAsync(CancellationToken ct);
    Task UnlockAsync(string address, CancellationToken ct);
    Task<DkimRow> MakeDkimAsync(string domain, string algorithm, string? selector, bool rotate, string? privateKeyPem, CancellationToken ct);
    Task<DkimRow> ShowDkimAsync(string domain, CancellationToken ct);
    Task<IReadOnlyList<DomainRecordRow>> DomainRecordsAsync(string domain, CancellationToken ct);
    Task<IReadOnlyList<QueueRow>> ListQueueAsync(CancellationToken ct);
    Task<BackupRow> BackupAsync(CancellationToken ct);
    Task<QueueRow> ShowQueuedAsync(long id, CancellationToken ct);
    Task ChangeQueuedAsync(long id, QueueAction action, CancellationToken ct);
    Task<IReadOnlyList<KeyVersionRow>> ListKeyVersionsAsync(string? account, bool pendingOnly, CancellationToken ct);
    Task<KeyVersionRow> EndorseAsync(string address, int version, Sealpost.Crypto.Vault.Endorsement endorsement, CancellationToken ct);
    Task<Sealpost.Crypto.Vault.RecoveryRequest> RequestRestoreAsync(string address, CancellationToken ct);
    Task<IReadOnlyList<int>> ApplyRecoveryAsync(Sealpost.Crypto.Vault.RecoveryResponse response, CancellationToken ct);
    Task<Sealpost.Crypto.Vault.RecoveryRequest> RequestGrantKeysAsync(string grantId, CancellationToken ct);
    Task<AccessGrantRow> RequestGrantAsync(string grantee, string mailbox, string justification, DateTimeOffset? notBefore, DateTimeOffset expiresAt, CancellationToken ct);
    Task<IReadOnlyList<AccessGrantRow>> ListGrantsAsync(CancellationToken ct);
    Task<AccessGrantRow> GetGrantAsync(string id, CancellationToken ct);
    Task<AccessGrantRow> ApproveGrantAsync(string id, byte[] publicKey, byte[] signature, CancellationToken ct);
    Task<AccessGrantRow> RevokeGrantAsync(string id, CancellationToken ct);
}

/// <summary>Offline, on the data folder, as the local administrator.</summary>
internal sealed class LocalAdministration(SealpostRuntime runtime, Actor admin) : IAdministration
{
    private Actor Admin { get; } = admin;

    public SealpostRuntime Runtime => runtime;

    private static KeyVersionRow Row(Sealpost.Domain.KeyVersionView v) =>
        new(v.Address, v.AccountId, v.Version, v.State.ToString().ToLowerInvariant(), v.Reason, v.Fingerprint, v.PublicKey, v.SigningPublicKey, v.CreatedAt);

    public async Task<IReadOnlyList<KeyVersionRow>> ListKeyVersionsAsync(string? account, bool pendingOnly, CancellationToken ct) =>
        (await runtime.KeyCustody.ListKeyVersionsAsync(Admin, account, pendingOnly, ct)).Select(Row).ToList();

    public async Task<KeyVersionRow> EndorseAsync(string address, int version, Sealpost.Crypto.Vault.Endorsement endorsement, CancellationToken ct) =>
        Row(await runtime.KeyCustody.EndorseAsync(Admin, address, version, endorsement, ct));

    public Task<Sealpost.Crypto.Vault.RecoveryRequest> RequestRestoreAsync(string address, CancellationToken ct) => runtime.KeyCustody.RequestRestoreAsync(Admin, address, ct);

    public Task<IReadOnlyList<int>> ApplyRecoveryAsync(Sealpost.Crypto.Vault.RecoveryResponse response, CancellationToken ct) => runtime.KeyCustody.ApplyRecoveryAsync(Admin, response, ct);

    public Task<Sealpost.Crypto.Vault.RecoveryRequest> RequestGrantKeysAsync(string grantId, CancellationToken ct) => runtime.KeyCustody.RequestGrantKeysAsync(Admin, grantId, ct);

    private static AccessGrantRow Row(Sealpost.Domain.AccessGrantView g) =>
        new(g.Id, g.Grantee, g.Mailbox, g.Justification, g.RequestedBy, g.RequestedAt, g.NotBefore, g.ExpiresAt, g.State.ToString().ToLowerInvariant(), g.ApprovedBy, g.EndedAt,
            Convert.ToBase64String(Sealpost.Domain.AccessGrantService.ApprovalPayload(g)));

    public async Task<AccessGrantRow> RequestGrantAsync(string grantee, string mailbox, string justification, DateTimeOffset? notBefore, DateTimeOffset expiresAt, CancellationToken ct) =>
        Row(await runtime.AccessGrants.RequestAsync(Admin, grantee, mailbox, justification, notBefore, expiresAt, ct));

    public async Task<IReadOnlyList<AccessGrantRow>> ListGrantsAsync(CancellationToken ct) => (await runtime.AccessGrants.ListAsync(Admin, ct)).Select(Row).ToList();

    public async Task<AccessGrantRow> GetGrantAsync(string id, CancellationToken ct) => Row(await runtime.AccessGrants.GetAsync(Admin, id, ct));

    // Offline on the data folder the approval is handed in as the officers (the signature is what counts).
    public async Task<AccessGrantRow> ApproveGrantAsync(string id, byte[] publicKey, byte[] signature, CancellationToken ct) =>
        Row(await runtime.AccessGrants.ApproveAsync(Actor.Officers(Environment.UserName, Environment.MachineName), id, new Sealpost.Crypto.Vault.GrantApproval("", publicKey, signature), ct));

    public async Task<AccessGrantRow> RevokeGrantAsync(string id, CancellationToken ct) => Row(await runtime.AccessGrants.RevokeAsync(Admin, id, ct));

    public async Task<TenantRow> AddTenantAsync(string name, string? displayName, CancellationToken ct)
    {
        var t = await runtime.Directory.AddTenantAsync(Admin, name, displayName, ct);
        return new TenantRow(t.Name, t.DisplayName, t.CreatedAt);
    }

    public async Task<IReadOnlyList<TenantRow>> ListTenantsAsync(CancellationToken ct) =>
        (await runtime.Directory.ListTenantsAsync(Admin, ct)).Select(t => new TenantRow(t.Name, t.DisplayName, t.CreatedAt)).ToList();

    public async Task<DomainRow> AddDomainAsync(string name, string tenant, CancellationToken ct)
    {
        var d = await runtime.Directory.AddDomainAsync(Admin, name, tenant, ct);
        return new DomainRow(d.Name.ToString(), tenant, 0);
    }

    public async Task<IReadOnlyList<DomainRow>> ListDomainsAsync(CancellationToken ct)
    {
        var tenants = (await runtime.Directory.ListTenantsAsync(Admin, ct)).ToDictionary(t => t.Id, t => t.Name);
        var rows = new List<DomainRow>();
        foreach (var d in await runtime.Directory.ListDomainsAsync(Admin, ct))
        {
            rows.Add(new DomainRow(d.Name.ToString(), tenants.GetValueOrDefault(d.TenantId, "?"), (await runtime.Directory.ListAccountsAsync(Admin, d.Name.Ascii, ct)).Count));
        }

        return rows;
    }

    public Task RemoveDomainAsync(string name, CancellationToken ct) => runtime.Directory.RemoveDomainAsync(Admin, name, ct);

    public async Task<AccountRow> AddUserAsync(string address, string password, string? displayName, long? quotaBytes, CancellationToken ct)
    {
        var a = await runtime.Directory.AddUserAsync(Admin, address, password, displayName, quotaBytes ?? runtime.Options.Limits.DefaultQuotaBytes, ct: ct);
        return new AccountRow(a.Address.ToString(), a.DisplayName, a.State.ToString().ToLowerInvariant(), a.QuotaBytes, 0);
    }

    public async Task<(AccountRow Account, string Token, DateTimeOffset ExpiresAt)> AddUserForEnrolmentAsync(string address, string? displayName, long? quotaBytes, CancellationToken ct)
    {
        var (a, token, expires) = await runtime.Directory.AddUserForEnrolmentAsync(Admin, address, displayName, quotaBytes ?? runtime.Options.Limits.DefaultQuotaBytes, ct: ct);
        return (new AccountRow(a.Address.ToString(), a.DisplayName, a.State.ToString().ToLowerInvariant(), a.QuotaBytes, 0), token, expires);
    }

    public async Task<IReadOnlyList<AccountRow>> ListAccountsAsync(string? domain, CancellationToken ct) =>
        (await runtime.Directory.ListAccountsAsync(Admin, domain, ct))
            .Select(s => new AccountRow(s.Account.Address.ToString(), s.Account.DisplayName, s.Account.State.ToString().ToLowerInvariant(), s.Account.QuotaBytes, s.UsedBytes)).ToList();

    public Task SetStateAsync(string address, AccountState state, CancellationToken ct) => runtime.Directory.SetStateAsync(Admin, address, state, ct);

    public Task ShredAsync(string address, CancellationToken ct) => runtime.Directory.ShredAccountAsync(Admin, address, ct);

    public Task AddAliasAsync(string alias, string target, CancellationToken ct) => runtime.Directory.AddAliasAsync(Admin, alias, target, ct);

    public Task RemoveAliasAsync(string alias, CancellationToken ct) => runtime.Directory.RemoveAliasAsync(Admin, alias, ct);

    public async Task<IReadOnlyList<AliasRow>> ListAliasesAsync(CancellationToken ct) =>
        (await runtime.Directory.ListAliasesAsync(Admin, ct)).Select(a => new AliasRow(a.Address.ToString(), a.AliasTarget?.ToString())).ToList();

    public Task GrantRoleAsync(string address, Role role, CancellationToken ct) => runtime.Directory.GrantRoleAsync(Admin, address, role, ct);

    public Task RevokeRoleAsync(string address, Role role, CancellationToken ct) => runtime.Directory.RevokeRoleAsync(Admin, address, role, ct);

    public async Task<IReadOnlyList<RoleHolderRow>> ListRoleHoldersAsync(CancellationToken ct) =>
        (await runtime.Directory.ListRoleHoldersAsync(Admin, ct)).Select(a => new RoleHolderRow(a.Address.ToString(), Actor.RolesOf(a.Roles).Order().Select(RoleNames.Of).ToList())).ToList();

    public async Task<GroupRow> AddGroupAsync(string address, string? displayName, CancellationToken ct)
    {
        var g = await runtime.Directory.AddGroupAsync(Admin, address, displayName, ct);
        return new GroupRow(g.Address.ToString(), g.DisplayName, []);
    }

    public async Task ChangeGroupMembersAsync(string group, IReadOnlyList<string> add, IReadOnlyList<string> remove, CancellationToken ct)
    {
        foreach (var m in add)
        {
            await runtime.Directory.AddGroupMemberAsync(Admin, group, m, ct);
        }

        foreach (var m in remove)
        {
            await runtime.Directory.RemoveGroupMemberAsync(Admin, group, m, ct);
        }
    }

    public async Task<IReadOnlyList<GroupRow>> ListGroupsAsync(CancellationToken ct) =>
        (await runtime.Directory.ListGroupsAsync(Admin, null, ct)).Select(g => new GroupRow(g.Group.Address.ToString(), g.Group.DisplayName,
            g.Members.Select(m => new GroupMemberRow(m.Address.ToString(), m.Kind?.ToString().ToLowerInvariant() ?? "remote")).ToList())).ToList();

    public async Task<IReadOnlyList<LockoutRow>> ListLockoutsAsync(CancellationToken ct) =>
        (await runtime.Directory.ListLockoutsAsync(Admin, ct)).Select(l => new LockoutRow(l.Kind, l.Subject, l.Failures, l.Until)).ToList();

    public Task UnlockAsync(string address, CancellationToken ct) => runtime.Directory.UnlockAsync(Admin, address, ct);

    public async Task<DkimRow> MakeDkimAsync(string domain, string algorithm, string? selector, bool rotate, string? privateKeyPem, CancellationToken ct)
    {
        var key = rotate
            ? await runtime.Dkim.RotateAsync(Admin, domain, algorithm, selector, ct)
            : await runtime.Dkim.CreateAsync(Admin, domain, algorithm, selector, ct, privateKeyPem);
        return new DkimRow(key.Domain, key.Selector, key.Algorithm, key.Created, key.DnsRecord, key.ZoneLine, []);
    }

    public async Task<DkimRow> ShowDkimAsync(string domain, CancellationToken ct)
    {
        var keys = await runtime.Dkim.ShowAsync(Admin, domain, ct);
        return new DkimRow(keys.Active.Domain, keys.Active.Selector, keys.Active.Algorithm, keys.Active.Created, keys.Active.DnsRecord, keys.Active.ZoneLine,
            keys.Previous.Select(p => new DkimPublishedRow(p.Selector, p.Algorithm, p.DnsRecord, p.Retired)).ToList());
    }

    public async Task<IReadOnlyList<DomainRecordRow>> DomainRecordsAsync(string domain, CancellationToken ct) =>
        (await runtime.Dkim.RecordsAsync(Admin, domain, runtime.Options.Hostname, ct)).Select(r => new DomainRecordRow(r.Purpose, r.Name, r.Type, r.Value, r.ZoneLine)).ToList();

    public async Task<IReadOnlyList<QueueRow>> ListQueueAsync(CancellationToken ct) => (await runtime.Queue.ListAsync(Admin, ct)).Select(Row).ToList();

    public async Task<BackupRow> BackupAsync(CancellationToken ct) =>
        (await runtime.Backups.CreateAsync(Admin, ct)) is var b ? new BackupRow(b.Name, b.Path, b.Files, b.Bytes) : throw new InvalidOperationException();

    public async Task<QueueRow> ShowQueuedAsync(long id, CancellationToken ct) => Row(await runtime.Queue.ShowAsync(Admin, id, ct));

    public Task ChangeQueuedAsync(long id, QueueAction action, CancellationToken ct) => action switch
    {
        QueueAction.Retry => runtime.Queue.RetryAsync(Admin, id, ct),
        QueueAction.Hold => runtime.Queue.HoldAsync(Admin, id, ct),
        QueueAction.Release => runtime.Queue.ReleaseAsync(Admin, id, ct),
        _ => runtime.Queue.DeleteAsync(Admin, id, ct),
    };

    private static QueueRow Row(Sealpost.Domain.Queue.QueueEntryView e) => new(
        e.Id, e.StateName(DateTimeOffset.UtcNow), e.ReturnPath, e.Size, e.Attempts, e.CreatedAt, e.NextAttemptAt,
        e.Recipients.Select(r => new QueueRecipientRow(r.Address, r.State.ToString().ToLowerInvariant(), r.LastReply, r.Host, r.Tls)).ToList());

    public ValueTask DisposeAsync() => runtime.DisposeAsync();
}

/// <summary>Through a running server's admin API, with the session or token of <c>sealpost login</c>.</summary>
internal sealed class ApiAdministration : IAdministration
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    public ApiAdministration(ApiLogin login)
    {
        _http = Client(login.Server, login.CaFile);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
    }

    /// <summary>An HTTPS client for <paramref name="server"/>: the system's trust store, or only the CA (or certificate) in <paramref name="caFile"/>.</summary>
    public static HttpClient Client(string server, string? caFile)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw SealpostException.Invalid($"--server: '{server}' is not an https:// URL");
        }

        var handler = new SocketsHttpHandler { UseCookies = false };
        if (caFile is not null)
        {
            var trusted = X509CertificateLoader.LoadCertificateFromFile(caFile);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    if (errors == SslPolicyErrors.None || certificate.GetCertHashString() == trusted.GetCertHashString())
                    {
                        return true;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(trusted);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(certificate));
                },
            };
        }

        return new HttpClient(handler) { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task<TenantRow> AddTenantAsync(string name, string? displayName, CancellationToken ct) =>
        await SendAsync<TenantRow>(HttpMethod.Post, "/api/v1/tenants", new { name, displayName }, ct);

    public async Task<IReadOnlyList<TenantRow>> ListTenantsAsync(CancellationToken ct) =>
        await AllPagesAsync<TenantRow>("/api/v1/tenants", ct);

    public async Task<DomainRow> AddDomainAsync(string name, string tenant, CancellationToken ct) =>
        await SendAsync<DomainRow>(HttpMethod.Post, "/api/v1/domains", new { name, tenant }, ct);

    public async Task<IReadOnlyList<DomainRow>> ListDomainsAsync(CancellationToken ct) =>
        await AllPagesAsync<DomainRow>("/api/v1/domains", ct);

    public Task RemoveDomainAsync(string name, CancellationToken ct) => SendAsync(HttpMethod.Delete, "/api/v1/domains/" + Uri.EscapeDataString(name), null, ct);

    public async Task<AccountRow> AddUserAsync(string address, string password, string? displayName, long? quotaBytes, CancellationToken ct) =>
        await SendAsync<AccountRow>(HttpMethod.Post, "/api/v1/accounts", new { address, password, displayName, quotaBytes }, ct);

    public async Task<(AccountRow Account, string Token, DateTimeOffset ExpiresAt)> AddUserForEnrolmentAsync(string address, string? displayName, long? quotaBytes, CancellationToken ct)
    {
        var created = await SendAsync<EnrolledAccountRow>(HttpMethod.Post, "/api/v1/accounts", new { address, displayName, quotaBytes, enrol = true }, ct);
        return (new AccountRow(created.Address, created.DisplayName, created.State, created.QuotaBytes, created.UsedBytes), created.Enrolment.Token, created.Enrolment.ExpiresAt);
    }

    private sealed record EnrolmentRow(string Token, DateTimeOffset ExpiresAt);

    private sealed record EnrolledAccountRow(string Address, string DisplayName, string State, long QuotaBytes, long UsedBytes, EnrolmentRow Enrolment);

    public async Task<IReadOnlyList<AccountRow>> ListAccountsAsync(string? domain, CancellationToken ct)
    {
        var rows = new List<AccountRow>();
        string? cursor = null;
        do
        {
            var query = "?limit=500" + (domain is null ? "" : "&domain=" + Uri.EscapeDataString(domain)) + (cursor is null ? "" : "&cursor=" + cursor);
            var page = await SendAsync<AccountPage>(HttpMethod.Get, "/api/v1/accounts" + query, null, ct);
            rows.AddRange(page.Items);
            cursor = page.Next;
        }
        while (cursor is not null);

        return rows;
    }

    public Task SetStateAsync(string address, AccountState state, CancellationToken ct)
    {
        var path = "/api/v1/accounts/" + Uri.EscapeDataString(address);
        return state switch
        {
            AccountState.Deleted => SendAsync(HttpMethod.Delete, path, null, ct),
            AccountState.Suspended => SendAsync(HttpMethod.Post, path + "/suspend", null, ct),
            _ => SendAsync(HttpMethod.Post, path + "/activate", null, ct),
        };
    }

    public Task ShredAsync(string address, CancellationToken ct) => SendAsync(HttpMethod.Post, $"/api/v1/accounts/{Uri.EscapeDataString(address)}/shred", null, ct);

    public Task AddAliasAsync(string alias, string target, CancellationToken ct) => SendAsync(HttpMethod.Post, "/api/v1/aliases", new { alias, target }, ct);

    public Task RemoveAliasAsync(string alias, CancellationToken ct) => SendAsync(HttpMethod.Delete, "/api/v1/aliases/" + Uri.EscapeDataString(alias), null, ct);

    public async Task<IReadOnlyList<AliasRow>> ListAliasesAsync(CancellationToken ct) => await AllPagesAsync<AliasRow>("/api/v1/aliases", ct);

    public Task GrantRoleAsync(string address, Role role, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, $"/api/v1/accounts/{Uri.EscapeDataString(address)}/roles/{RoleNames.Of(role)}", null, ct);

    public Task RevokeRoleAsync(string address, Role role, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/api/v1/accounts/{Uri.EscapeDataString(address)}/roles/{RoleNames.Of(role)}", null, ct);

    public async Task<IReadOnlyList<RoleHolderRow>> ListRoleHoldersAsync(CancellationToken ct) => await AllPagesAsync<RoleHolderRow>("/api/v1/roles", ct);

    public async Task<GroupRow> AddGroupAsync(string address, string? displayName, CancellationToken ct) =>
        await SendAsync<GroupRow>(HttpMethod.Post, "/api/v1/groups", new { address, displayName }, ct);

    public async Task ChangeGroupMembersAsync(string group, IReadOnlyList<string> add, IReadOnlyList<string> remove, CancellationToken ct)
    {
        foreach (var m in add)
        {
            await SendAsync(HttpMethod.Put, $"/api/v1/groups/{Uri.EscapeDataString(group)}/members/{Uri.EscapeDataString(m)}", null, ct);
        }

        foreach (var m in remove)
        {
            await SendAsync(HttpMethod.Delete, $"/api/v1/groups/{Uri.EscapeDataString(group)}/members/{Uri.EscapeDataString(m)}", null, ct);
        }
    }

    public async Task<IReadOnlyList<GroupRow>> ListGroupsAsync(CancellationToken ct) => await AllPagesAsync<GroupRow>("/api/v1/groups", ct);

    public async Task<IReadOnlyList<LockoutRow>> ListLockoutsAsync(CancellationToken ct) => await AllPagesAsync<LockoutRow>("/api/v1/lockouts", ct);

    public Task UnlockAsync(string address, CancellationToken ct) => SendAsync(HttpMethod.Delete, "/api/v1/lockouts/" + Uri.EscapeDataString(address), null, ct);

    public async Task<DkimRow> MakeDkimAsync(string domain, string algorithm, string? selector, bool rotate, string? privateKeyPem, CancellationToken ct) =>
        await SendAsync<DkimRow>(HttpMethod.Post, $"/api/v1/domains/{Uri.EscapeDataString(domain)}/dkim", new { algorithm, selector, rotate, privateKeyPem }, ct);

    public async Task<DkimRow> ShowDkimAsync(string domain, CancellationToken ct) => await SendAsync<DkimRow>(HttpMethod.Get, $"/api/v1/domains/{Uri.EscapeDataString(domain)}/dkim", null, ct);

    public async Task<IReadOnlyList<DomainRecordRow>> DomainRecordsAsync(string domain, CancellationToken ct) =>
        await SendAsync<List<DomainRecordRow>>(HttpMethod.Get, $"/api/v1/domains/{Uri.EscapeDataString(domain)}/dns", null, ct);

    public async Task<IReadOnlyList<QueueRow>> ListQueueAsync(CancellationToken ct) => await AllPagesAsync<QueueRow>("/api/v1/queue", ct);

    public async Task<BackupRow> BackupAsync(CancellationToken ct) => await SendAsync<BackupRow>(HttpMethod.Post, "/api/v1/backups", null, ct);

    public async Task<QueueRow> ShowQueuedAsync(long id, CancellationToken ct) => await SendAsync<QueueRow>(HttpMethod.Get, $"/api/v1/queue/{id}", null, ct);

    public Task ChangeQueuedAsync(long id, QueueAction action, CancellationToken ct) => action == QueueAction.Delete
        ? SendAsync(HttpMethod.Delete, $"/api/v1/queue/{id}", null, ct)
        : SendAsync(HttpMethod.Post, $"/api/v1/queue/{id}/{action.ToString().ToLowerInvariant()}", null, ct);

    public async Task<IReadOnlyList<KeyVersionRow>> ListKeyVersionsAsync(string? account, bool pendingOnly, CancellationToken ct)
    {
        var rows = new List<KeyVersionRow>();
        string? cursor = null;
        do
        {
            var query = "?limit=500&pending=" + (pendingOnly ? "true" : "false") + (account is null ? "" : "&account=" + Uri.EscapeDataString(account)) + (cursor is null ? "" : "&cursor=" + cursor);
            var page = await SendAsync<ListPage<KeyVersionRow>>(HttpMethod.Get, "/api/v1/key-versions" + query, null, ct);
            rows.AddRange(page.Items);
            cursor = page.Next;
        }
        while (cursor is not null);

        return rows;
    }

    public async Task<KeyVersionRow> EndorseAsync(string address, int version, Sealpost.Crypto.Vault.Endorsement endorsement, CancellationToken ct) =>
        await SendAsync<KeyVersionRow>(HttpMethod.Post, $"/api/v1/key-versions/{Uri.EscapeDataString(address)}/{version}/endorsements", new
        {
            role = endorsement.Kind == Sealpost.Crypto.Vault.EndorsementKind.Approver ? "approver" : "requester",
            publicKey = Convert.ToBase64String(endorsement.SignerPublicKey),
            signature = Convert.ToBase64String(endorsement.Signature),
        }, ct);

    public async Task<Sealpost.Crypto.Vault.RecoveryRequest> RequestRestoreAsync(string address, CancellationToken ct)
    {
        using var response = await SendRawAsync(_http, HttpMethod.Post, "/api/v1/recovery/requests", new { address, purpose = Sealpost.Crypto.Vault.RecoveryPurpose.Restore }, ct);
        return Sealpost.Crypto.Vault.RecoveryRequest.FromJson(await response.Content.ReadAsStringAsync(ct));
    }

    public async Task<IReadOnlyList<int>> ApplyRecoveryAsync(Sealpost.Crypto.Vault.RecoveryResponse response, CancellationToken ct)
    {
        var applied = await SendAsync<RecoveryApplied>(HttpMethod.Post, "/api/v1/recovery/responses", System.Text.Json.JsonDocument.Parse(response.ToJson()).RootElement, ct);
        return applied.Versions;
    }

    private sealed record RecoveryApplied(string RequestId, List<int> Versions);

    public async Task<Sealpost.Crypto.Vault.RecoveryRequest> RequestGrantKeysAsync(string grantId, CancellationToken ct)
    {
        using var response = await SendRawAsync(_http, HttpMethod.Post, "/api/v1/recovery/requests", new { purpose = Sealpost.Crypto.Vault.RecoveryPurpose.Grant, grant = grantId }, ct);
        return Sealpost.Crypto.Vault.RecoveryRequest.FromJson(await response.Content.ReadAsStringAsync(ct));
    }

    public async Task<AccessGrantRow> RequestGrantAsync(string grantee, string mailbox, string justification, DateTimeOffset? notBefore, DateTimeOffset expiresAt, CancellationToken ct) =>
        await SendAsync<AccessGrantRow>(HttpMethod.Post, "/api/v1/access-grants", new { grantee, mailbox, justification, notBefore, expiresAt }, ct);

    public async Task<IReadOnlyList<AccessGrantRow>> ListGrantsAsync(CancellationToken ct) => await AllPagesAsync<AccessGrantRow>("/api/v1/access-grants", ct);

    public async Task<AccessGrantRow> GetGrantAsync(string id, CancellationToken ct) => await SendAsync<AccessGrantRow>(HttpMethod.Get, "/api/v1/access-grants/" + Uri.EscapeDataString(id), null, ct);

    public async Task<AccessGrantRow> ApproveGrantAsync(string id, byte[] publicKey, byte[] signature, CancellationToken ct) =>
        await SendAsync<AccessGrantRow>(HttpMethod.Post, $"/api/v1/access-grants/{Uri.EscapeDataString(id)}/approvals",
            new { publicKey = Convert.ToBase64String(publicKey), signature = Convert.ToBase64String(signature) }, ct);

    public async Task<AccessGrantRow> RevokeGrantAsync(string id, CancellationToken ct) =>
        await SendAsync<AccessGrantRow>(HttpMethod.Delete, "/api/v1/access-grants/" + Uri.EscapeDataString(id), null, ct);

    private sealed record AccountPage(List<AccountRow> Items, string? Next);

    private sealed record ListPage<T>(List<T> Items, string? Next);

    // Follows the cursor to the end of a list.
    private async Task<IReadOnlyList<T>> AllPagesAsync<T>(string path, CancellationToken ct)
    {
        var all = new List<T>();
        string? cursor = null;
        do
        {
            var page = await SendAsync<ListPage<T>>(HttpMethod.Get, path + "?limit=500" + (cursor is null ? "" : "&cursor=" + cursor), null, ct);
            all.AddRange(page.Items);
            cursor = page.Next;
        }
        while (cursor is not null);

        return all;
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendRawAsync(_http, method, path, body, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct) ?? throw SealpostException.Invalid("the server answered with an empty body");
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendRawAsync(_http, method, path, body, ct);
    }

    /// <summary>Sends a request; a problem answer becomes the one-line error the CLI prints.</summary>
    public static async Task<HttpResponseMessage> SendRawAsync(HttpClient http, HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"cannot reach {http.BaseAddress}: {ex.Message}", ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var detail = $"the server answered {(int)response.StatusCode}";
            try
            {
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct);
                if (problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("detail", out var d) && d.GetString() is { Length: > 0 } text)
                {
                    detail = text;
                }
            }
            catch (JsonException)
            {
                // Not a problem document: the status says it.
            }

            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new SealpostException(ErrorKind.Forbidden, $"not signed in, or the session has ended: run 'sealpost login --server {http.BaseAddress}' ({detail})"),
                HttpStatusCode.Forbidden => new SealpostException(ErrorKind.Forbidden, detail),
                HttpStatusCode.NotFound => SealpostException.NotFound(detail),
                HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed => SealpostException.Conflict(detail),
                HttpStatusCode.TooManyRequests => SealpostException.Limit(detail),
                HttpStatusCode.ServiceUnavailable => new SealpostException(ErrorKind.TemporarilyUnavailable, detail),
                _ => SealpostException.Invalid(detail),
            };
        }
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A stored sign-in: the server, the session or token, and the CA to trust for it.</summary>
public sealed record ApiLogin(string Server, string Token, DateTimeOffset ExpiresAt, string? CaFile, string Address);

/// <summary>
/// Where <c>sealpost login</c> keeps its session: $SEALPOST_CREDENTIALS, else
/// $XDG_CONFIG_HOME/sealpost/credentials.json (~/.config/...), written with mode 0600.
/// </summary>
internal static class ApiLoginFile
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string DefaultPath()
    {
        if (Environment.GetEnvironmentVariable("SEALPOST_CREDENTIALS") is { Length: > 0 } explicitPath)
        {
            return explicitPath;
        }

        var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(config, "sealpost", "credentials.json");
    }

    public static ApiLogin? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ApiLogin>(File.ReadAllText(path), Json);
        }
        catch (JsonException)
        {
            throw SealpostException.Invalid($"{path} is not a credentials file sealpost wrote; remove it and run 'sealpost login' again");
        }
    }

    public static void Save(string path, ApiLogin login)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Created 0600: the session is a credential.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, login, Json);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
