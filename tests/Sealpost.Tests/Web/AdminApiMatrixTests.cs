using System.Net;
using Microsoft.AspNetCore.Routing;
using Sealpost.Core.Access;
using Sealpost.Server;
using Sealpost.Tests.Support;
using Sealpost.Web;

namespace Sealpost.Tests.Web;

/// <summary>
/// The permission matrix over HTTP: every endpoint of the admin API x every role x a target inside
/// the role's tenant and one outside it. The expected answer is computed from
/// <see cref="PermissionMatrix"/>, not written down, so the API cannot drift from it; and an endpoint
/// without a probe here fails the coverage test.
/// </summary>
public sealed class AdminApiMatrixTests : IAsyncLifetime
{
    private const string Password = "matrix-test-passphrase";
    private static readonly Role[] Roles = [Role.User, Role.DomainAdmin, Role.PlatformAdmin, Role.Operator, Role.SecurityOfficer, Role.Auditor];

    private TestServer _server = null!;
    private ApiClient _api = null!;
    private readonly Dictionary<Role, (string Token, long AccountId)> _sessions = [];
    private long _tenantA;
    private long _tenantB;
    private int _unique;

    /// <summary>Where a probe's target lies relative to the prober (whose account is in tenant A).</summary>
    public enum Target
    {
        /// <summary>No target: a platform-wide action.</summary>
        Platform,
        /// <summary>A list: tenant and own reach see their part, so only "no reach at all" is refused.</summary>
        List,
        /// <summary>The prober's own account (the /me endpoints).</summary>
        Own,
        /// <summary>Something of tenant A (the prober's), not the prober's own account.</summary>
        InTenant,
        /// <summary>Something of tenant B.</summary>
        OutOfTenant,
    }

    /// <summary>One request of a probe, built against the side (A or B) it targets.</summary>
    public sealed record Request(string Method, string Path, object? Body = null, string? IfMatch = null);

    private sealed record Probe(string Method, string Route, Operation Operation, bool Scoped, Func<AdminApiMatrixTests, Side, Task<Request>> Build)
    {
        public string Name => $"{Method} {Route}";
    }

    private sealed record Side(string Tenant, string Domain, string Account, string Group);

    private static readonly Side A = new("matrix-a", "a.test", "target@a.test", "group@a.test");
    private static readonly Side B = new("matrix-b", "b.test", "target@b.test", "group@b.test");

    private string Fresh(string prefix) => $"{prefix}{Interlocked.Increment(ref _unique)}";

    private static Task<Request> R(string method, string path, object? body = null, string? ifMatch = null) => Task.FromResult(new Request(method, path, body, ifMatch));

    private static string E(string value) => Uri.EscapeDataString(value);

    private SealpostRuntime Runtime => _server.Server.Runtime;

    private static readonly Probe[] Probes =
    [
        // Self-service (own account); sign-out last, as it ends the prober's session.
        new("GET", "/api/v1/me", Operation.OwnCredentialsManage, false, (_, _) => R("GET", "/api/v1/me")),
        new("POST", "/api/v1/me/totp", Operation.OwnSecondFactorEnrol, false, (_, _) => R("POST", "/api/v1/me/totp")),
        new("POST", "/api/v1/me/totp/confirm", Operation.OwnSecondFactorEnrol, false, (_, _) => R("POST", "/api/v1/me/totp/confirm", new { code = "000000" })),
        new("PUT", "/api/v1/me/password", Operation.OwnPasswordChange, false, (_, _) => R("PUT", "/api/v1/me/password", new { currentPassword = Password, newPassword = "short" })),
        new("PUT", "/api/v1/me/notify-address", Operation.OwnCredentialsManage, false, (_, _) => R("PUT", "/api/v1/me/notify-address", new { address = "" })),
        new("GET", "/api/v1/me/app-passwords", Operation.OwnCredentialsManage, false, (_, _) => R("GET", "/api/v1/me/app-passwords")),
        new("POST", "/api/v1/me/app-passwords", Operation.OwnAppPasswordCreate, false, (_, _) => R("POST", "/api/v1/me/app-passwords", new { label = "probe", password = Password })),
        new("DELETE", "/api/v1/me/app-passwords/{id:long}", Operation.OwnCredentialsManage, false, (_, _) => R("DELETE", "/api/v1/me/app-passwords/999999")),
        new("GET", "/api/v1/me/tokens", Operation.OwnCredentialsManage, false, (_, _) => R("GET", "/api/v1/me/tokens")),
        new("POST", "/api/v1/me/tokens", Operation.OwnCredentialsManage, false, (_, _) => R("POST", "/api/v1/me/tokens", new { label = "probe", roles = new[] { "user" }, expiresInDays = 1 })),
        new("DELETE", "/api/v1/me/tokens/{id:long}", Operation.OwnCredentialsManage, false, (_, _) => R("DELETE", "/api/v1/me/tokens/999999")),
        new("GET", "/api/v1/me/logins", Operation.OwnCredentialsManage, false, (_, _) => R("GET", "/api/v1/me/logins")),

        // Tenants and domains.
        new("GET", "/api/v1/tenants", Operation.TenantList, false, (_, _) => R("GET", "/api/v1/tenants")),
        new("POST", "/api/v1/tenants", Operation.TenantCreate, false, (t, _) => R("POST", "/api/v1/tenants", new { name = t.Fresh("tenant-") })),
        new("GET", "/api/v1/domains", Operation.DomainList, false, (_, _) => R("GET", "/api/v1/domains")),
        new("POST", "/api/v1/domains", Operation.DomainAdd, false, (t, _) => R("POST", "/api/v1/domains", new { name = t.Fresh("d") + ".test", tenant = A.Tenant })),
        new("DELETE", "/api/v1/domains/{name}", Operation.DomainRemove, true, async (t, s) =>
        {
            var name = t.Fresh("gone") + "." + s.Domain;
            await t.Runtime.Directory.AddDomainAsync(SealpostRuntime.LocalAdministrator, name, s.Tenant);
            return new Request("DELETE", "/api/v1/domains/" + E(name));
        }),

        new("GET", "/api/v1/domains/{name}/dns", Operation.DomainList, true, (_, s) => R("GET", $"/api/v1/domains/{E(s.Domain)}/dns")),
        new("POST", "/api/v1/domains/{name}/dkim", Operation.DkimManage, true, (_, s) => R("POST", $"/api/v1/domains/{E(s.Domain)}/dkim", new { algorithm = "ed25519" })),
        new("GET", "/api/v1/domains/{name}/dkim", Operation.DkimManage, true, async (t, s) =>
        {
            await t.Runtime.Dkim.CreateAsync(SealpostRuntime.LocalAdministrator, s.Domain, "ed25519", null, CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            return new Request("GET", $"/api/v1/domains/{E(s.Domain)}/dkim");
        }),

        // Accounts.
        new("GET", "/api/v1/accounts", Operation.AccountList, false, (_, _) => R("GET", "/api/v1/accounts")),
        new("POST", "/api/v1/accounts", Operation.AccountCreate, true, (t, s) => R("POST", "/api/v1/accounts", new { address = t.Fresh("new") + "@" + s.Domain, password = Password })),
        new("GET", "/api/v1/accounts/{address}", Operation.AccountList, true, (_, s) => R("GET", "/api/v1/accounts/" + E(s.Account))),
        new("PATCH", "/api/v1/accounts/{address}", Operation.AccountUpdate, true, async (t, s) =>
        {
            var current = await t.Runtime.Directory.GetAccountAsync(SealpostRuntime.LocalAdministrator, s.Account);
            return new Request("PATCH", "/api/v1/accounts/" + E(s.Account), new { displayName = "Renamed" }, $"\"v{current.Account.CredentialVersion}\"");
        }),
        new("POST", "/api/v1/accounts/{address}/suspend", Operation.AccountSetState, true, (_, s) => R("POST", $"/api/v1/accounts/{E(s.Account)}/suspend")),
        new("POST", "/api/v1/accounts/{address}/activate", Operation.AccountSetState, true, (_, s) => R("POST", $"/api/v1/accounts/{E(s.Account)}/activate")),
        new("DELETE", "/api/v1/accounts/{address}", Operation.AccountSetState, true, async (t, s) =>
        {
            var address = t.Fresh("leaver") + "@" + s.Domain;
            await t.Runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, address, Password, null, 0);
            return new Request("DELETE", "/api/v1/accounts/" + E(address));
        }),
        new("POST", "/api/v1/accounts/{address}/shred", Operation.AccountShred, true, async (t, s) =>
        {
            var address = t.Fresh("shred") + "@" + s.Domain;
            await t.Runtime.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, address, Password, null, 0);
            await t.Runtime.Directory.SetStateAsync(SealpostRuntime.LocalAdministrator, address, Sealpost.Core.Directory.AccountState.Suspended);
            return new Request("POST", $"/api/v1/accounts/{E(address)}/shred");
        }),
        new("POST", "/api/v1/accounts/{address}/password-reset", Operation.AccountPasswordReset, true,
            (_, s) => R("POST", $"/api/v1/accounts/{E(s.Account)}/password-reset", new { newPassword = "a-fresh-reset-passphrase" })),
        new("DELETE", "/api/v1/accounts/{address}/second-factor", Operation.AccountSecondFactorReset, true, (_, s) => R("DELETE", $"/api/v1/accounts/{E(s.Account)}/second-factor")),

        // Roles.
        new("GET", "/api/v1/roles", Operation.RoleList, false, (_, _) => R("GET", "/api/v1/roles")),
        new("PUT", "/api/v1/accounts/{address}/roles/{role}", Operation.RoleGrant, true, (_, s) => R("PUT", $"/api/v1/accounts/{E(s.Account)}/roles/auditor")),
        new("DELETE", "/api/v1/accounts/{address}/roles/{role}", Operation.RoleRevoke, true, (_, s) => R("DELETE", $"/api/v1/accounts/{E(s.Account)}/roles/auditor")),

        // Aliases and groups.
        new("GET", "/api/v1/aliases", Operation.AliasList, false, (_, _) => R("GET", "/api/v1/aliases")),
        new("POST", "/api/v1/aliases", Operation.AliasAdd, true, (t, s) => R("POST", "/api/v1/aliases", new { alias = t.Fresh("alias") + "@" + s.Domain, target = s.Account })),
        new("DELETE", "/api/v1/aliases/{alias}", Operation.AliasRemove, true, async (t, s) =>
        {
            var alias = t.Fresh("old") + "@" + s.Domain;
            await t.Runtime.Directory.AddAliasAsync(SealpostRuntime.LocalAdministrator, alias, s.Account);
            return new Request("DELETE", "/api/v1/aliases/" + E(alias));
        }),
        new("GET", "/api/v1/groups", Operation.GroupList, false, (_, _) => R("GET", "/api/v1/groups")),
        new("POST", "/api/v1/groups", Operation.GroupCreate, true, (t, s) => R("POST", "/api/v1/groups", new { address = t.Fresh("list") + "@" + s.Domain })),
        new("PUT", "/api/v1/groups/{address}/members/{member}", Operation.GroupMembersChange, true,
            (t, s) => R("PUT", $"/api/v1/groups/{E(s.Group)}/members/{E(t.Fresh("member") + "@outside.example")}")),
        new("DELETE", "/api/v1/groups/{address}/members/{member}", Operation.GroupMembersChange, true, async (t, s) =>
        {
            var member = t.Fresh("member") + "@outside.example";
            await t.Runtime.Directory.AddGroupMemberAsync(SealpostRuntime.LocalAdministrator, s.Group, member);
            return new Request("DELETE", $"/api/v1/groups/{E(s.Group)}/members/{E(member)}");
        }),

        // Lockouts.
        new("GET", "/api/v1/lockouts", Operation.LockoutList, false, (_, _) => R("GET", "/api/v1/lockouts")),
        new("DELETE", "/api/v1/lockouts/{address}", Operation.LockoutUnlock, true, (_, s) => R("DELETE", "/api/v1/lockouts/" + E(s.Account))),

        // Key custody: the anchor, key versions, endorsements (a well-formed signature over nothing: 400 once the right is granted).
        new("GET", "/api/v1/trust-anchor", Operation.KeyVersionList, false, (_, _) => R("GET", "/api/v1/trust-anchor")),
        new("GET", "/api/v1/key-versions", Operation.KeyVersionList, false, (_, _) => R("GET", "/api/v1/key-versions")),
        new("POST", "/api/v1/key-versions/{address}/{version:int}/endorsements", Operation.KeyVersionEndorse, true, (_, s) => R("POST", $"/api/v1/key-versions/{E(s.Account)}/1/endorsements",
            new { role = "requester", publicKey = Convert.ToBase64String(new byte[32]), signature = Convert.ToBase64String(new byte[64]) })),
        // Access grants (an id that does not exist is 404 once the right is granted; a request with a window in the past is 400).
        new("GET", "/api/v1/access-grants", Operation.AccessGrantList, false, (_, _) => R("GET", "/api/v1/access-grants")),
        new("GET", "/api/v1/access-grants/{id}", Operation.AccessGrantList, true, async (t, s) =>
        {
            var grant = await t.Runtime.AccessGrants.RequestAsync(SealpostRuntime.LocalAdministrator, $"{RoleNames.Of(Role.User)}@{A.Domain}",
                s.Account, "matrix probe of one grant", null, DateTimeOffset.UtcNow.AddHours(1));
            return new Request("GET", "/api/v1/access-grants/" + grant.Id);
        }),
        new("POST", "/api/v1/access-grants", Operation.AccessGrantRequest, true, (_, s) => R("POST", "/api/v1/access-grants",
            new { grantee = s.Account, mailbox = s.Account, justification = "matrix probe, no real case", expiresAt = "2000-01-01T00:00:00Z" })),
        new("POST", "/api/v1/access-grants/{id}/approvals", Operation.AccessGrantApprove, false, (_, _) => R("POST", $"/api/v1/access-grants/{new string('0', 32)}/approvals",
            new { publicKey = Convert.ToBase64String(new byte[32]), signature = Convert.ToBase64String(new byte[64]) })),
        new("DELETE", "/api/v1/access-grants/{id}", Operation.AccessGrantRevoke, false, (_, _) => R("DELETE", "/api/v1/access-grants/" + new string('0', 32))),

        // Recovery: a request for an account with nothing lost is 409, a response to no request 404, once the right is granted.
        new("POST", "/api/v1/recovery/requests", Operation.RecoveryRequest, true, (_, s) => R("POST", "/api/v1/recovery/requests", new { address = s.Account, purpose = "restore" })),
        new("POST", "/api/v1/recovery/responses", Operation.RecoveryApply, false, (_, _) => R("POST", "/api/v1/recovery/responses",
            new { format = "sealpost-recovery-response-v1", requestId = new string('0', 32), accountId = 1, holderAccountId = 1, holderVersion = 1, keys = new[] { new { version = 1, wrap = Convert.ToBase64String(new byte[80]) } } })),

        // Queue (platform-wide; an id that does not exist is 404 once the right is granted).
        new("GET", "/api/v1/queue", Operation.QueueRead, false, (_, _) => R("GET", "/api/v1/queue")),
        new("GET", "/api/v1/queue/{id:long}", Operation.QueueRead, false, (_, _) => R("GET", "/api/v1/queue/999999")),
        new("POST", "/api/v1/queue/{id:long}/hold", Operation.QueueManage, false, (_, _) => R("POST", "/api/v1/queue/999999/hold")),
        new("POST", "/api/v1/queue/{id:long}/release", Operation.QueueManage, false, (_, _) => R("POST", "/api/v1/queue/999999/release")),
        new("POST", "/api/v1/queue/{id:long}/retry", Operation.QueueManage, false, (_, _) => R("POST", "/api/v1/queue/999999/retry")),
        new("DELETE", "/api/v1/queue/{id:long}", Operation.QueueManage, false, (_, _) => R("DELETE", "/api/v1/queue/999999")),

        // Nodes (from their start and stop records).
        new("GET", "/api/v1/nodes", Operation.ConfigurationRead, false, (_, _) => R("GET", "/api/v1/nodes")),
        new("GET", "/api/v1/metrics", Operation.ConfigurationRead, false, (_, _) => R("GET", "/api/v1/metrics")),

        // Backups (a backup is written for each role the matrix allows).
        new("POST", "/api/v1/backups", Operation.BackupCreate, false, (_, _) => R("POST", "/api/v1/backups")),

        // Audit.
        new("GET", "/api/v1/audit", Operation.AuditRead, false, (_, _) => R("GET", "/api/v1/audit?limit=5")),
        new("GET", "/api/v1/audit/export", Operation.AuditRead, false, (_, _) => R("GET", "/api/v1/audit/export?from=2100-01-01T00:00:00Z")),
        new("GET", "/api/v1/audit/head", Operation.AuditRead, false, (_, _) => R("GET", "/api/v1/audit/head")),

        new("POST", "/api/v1/sign-out", Operation.OwnCredentialsManage, false, (_, _) => R("POST", "/api/v1/sign-out")),
    ];

    private static readonly HashSet<string> AnonymousRoutes = ["POST /api/v1/sign-in", "POST /api/v1/enrol", "GET /api/v1/health", "GET /api/v1/version"];

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        _api = new ApiClient(_server);
        var admin = SealpostRuntime.LocalAdministrator;
        var directory = Runtime.Directory;
        foreach (var side in new[] { A, B })
        {
            var tenant = await directory.AddTenantAsync(admin, side.Tenant, null);
            (side == A ? ref _tenantA : ref _tenantB) = tenant.Id;
            await directory.AddDomainAsync(admin, side.Domain, side.Tenant);
            await directory.AddUserAsync(admin, side.Account, Password, null, 0);
            await directory.AddGroupAsync(admin, side.Group, null);
        }

        foreach (var role in Roles)
        {
            var address = $"{RoleNames.Of(role)}@{A.Domain}";
            var token = role == Role.User
                ? await _api.UserAsync(address, Password)
                : (await _api.AdministratorAsync(address, Password, role)).Token;
            _sessions[role] = (token, (await directory.RequireAccountAsync(address)).Id);
        }
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public void Every_api_endpoint_names_an_operation_of_the_matrix_and_has_a_probe_here()
    {
        var routes = _server.Server.HttpEndpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["?"]).Select(m => (Name: $"{m} {e.RoutePattern.RawText}", Endpoint: e)))
            .ToList();
        Assert.True(routes.Count > 40, $"only {routes.Count} API endpoints found");
        var probed = Probes.Select(p => p.Name).ToHashSet();
        foreach (var (name, endpoint) in routes)
        {
            var requires = endpoint.Metadata.GetMetadata<RequiresAttribute>();
            Assert.True(requires is not null, $"{name} does not name its operation (.Requires)");
            Assert.True(PermissionMatrix.Rows.ContainsKey(requires!.Operation), $"{name}: {requires.Operation} is not in the matrix");
            if (endpoint.Metadata.GetMetadata<AnonymousEndpointAttribute>() is not null)
            {
                Assert.Contains(name, AnonymousRoutes);
                continue;
            }

            Assert.True(probed.Contains(name), $"{name} has no probe in the matrix test");
            Assert.Equal(Probes.First(p => p.Name == name).Operation, requires.Operation);
        }

        Assert.Equal(probed.Count, routes.Count(r => !AnonymousRoutes.Contains(r.Name)));
    }

    [Fact]
    public async Task Every_endpoint_answers_every_role_as_the_matrix_says()
    {
        var failures = new List<string>();
        var checkedCount = 0;
        foreach (var role in Roles)
        {
            var (token, accountId) = _sessions[role];
            var actor = new Actor(ActorKind.Account, role.ToString(), new HashSet<Role> { Role.User, role }, accountId, _tenantA, null, "api", "matrix");
            foreach (var probe in Probes)
            {
                var targets = probe.Scoped ? new[] { (Target.InTenant, A), (Target.OutOfTenant, B) } : [(probe.Route.StartsWith("/api/v1/me", StringComparison.Ordinal) || probe.Route == "/api/v1/sign-out" ? Target.Own : IsList(probe) ? Target.List : Target.Platform, A)];
                foreach (var (target, side) in targets)
                {
                    var expected = Expected(actor, probe.Operation, target);
                    var request = await probe.Build(this, side);
                    using var response = await _api.SendAsync(new HttpMethod(request.Method), request.Path, request.Body, token, request.IfMatch);
                    var body = await response.Content.ReadAsStringAsync();
                    var status = (int)response.StatusCode;
                    var allowed = status is not (401 or 403);
                    checkedCount++;
                    if (allowed != expected || status >= 500)
                    {
                        failures.Add($"{RoleNames.Of(role)} {probe.Name} ({target}): expected {(expected ? "allowed" : "403")}, got {status} {body}");
                    }
                    else if (!expected && !body.Contains("\"forbidden\"", StringComparison.Ordinal) && !body.Contains("problems/forbidden", StringComparison.Ordinal))
                    {
                        failures.Add($"{RoleNames.Of(role)} {probe.Name} ({target}): refused without a forbidden problem: {body}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {checkedCount} answers differ from the matrix:\n" + string.Join("\n", failures));
        Assert.True(checkedCount > 300);
    }

    private static bool IsList(Probe probe) => probe.Method == "GET" && !probe.Route.Contains('{', StringComparison.Ordinal) && probe.Operation
        is Operation.TenantList or Operation.DomainList or Operation.AccountList or Operation.AliasList or Operation.GroupList or Operation.LockoutList or Operation.KeyVersionList
            or Operation.AccessGrantList
        && probe.Route != "/api/v1/trust-anchor";

    private bool Expected(Actor actor, Operation operation, Target target) => target switch
    {
        Target.Platform => PermissionMatrix.Allows(actor, operation, Scope.Platform),
        Target.List or Target.Own => actor.Roles.Any(r => PermissionMatrix.ReachOf(operation, r) != Reach.None),
        Target.InTenant => PermissionMatrix.Allows(actor, operation, Scope.OfAccount(_tenantA, -1)),
        _ => PermissionMatrix.Allows(actor, operation, Scope.OfAccount(_tenantB, -1)),
    };
}
