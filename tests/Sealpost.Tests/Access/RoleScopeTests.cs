using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Directory;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Access;

/// <summary>
/// The matrix applied by the real services over a real store: two departments, an administrator of
/// one, an operator, an auditor and a user each try the same operations; what is refused says so
/// (ErrorKind.Forbidden) and leaves a Refused record; what is allowed happens.
/// </summary>
public sealed class RoleScopeTests : IAsyncLifetime
{
    private TestRuntime _test = null!;
    private readonly Dictionary<string, Actor> _actors = [];

    public async Task InitializeAsync()
    {
        _test = await TestRuntime.CreateAsync();
        var d = _test.Runtime.Directory;
        var admin = SealpostRuntime.LocalAdministrator;
        await d.AddTenantAsync(admin, "finance", "Finance");
        await d.AddTenantAsync(admin, "health", "Health");
        await d.AddDomainAsync(admin, "finance.example", "finance");
        await d.AddDomainAsync(admin, "health.example", "health");
        foreach (var (name, domain, roles) in new[]
        {
            ("fadmin", "finance.example", AccountRoles.DomainAdmin),
            ("ops", "finance.example", AccountRoles.Operator),
            ("audit", "finance.example", AccountRoles.Auditor),
            ("user", "finance.example", AccountRoles.User),
        })
        {
            var account = await d.AddUserAsync(admin, $"{name}@{domain}", "a long pass phrase", null, 0, roles);
            _actors[name] = await d.ActorForAsync(account, "test", "192.0.2.9", null);
        }

        await d.AddUserAsync(admin, "victim@finance.example", "a long pass phrase", null, 0);
        await d.AddUserAsync(admin, "patient@health.example", "a long pass phrase", null, 0);
    }

    public async Task DisposeAsync() => await _test.DisposeAsync();

    public static TheoryData<string, string, bool> Cases() => new()
    {
        { "fadmin", "create account in own department", true },
        { "fadmin", "create account in another department", false },
        { "fadmin", "suspend account in own department", true },
        { "fadmin", "suspend account in another department", false },
        { "fadmin", "reset password in own department", true },
        { "fadmin", "reset password in another department", false },
        { "fadmin", "add alias in another department", false },
        { "fadmin", "grant a role", false },
        { "fadmin", "add a domain", false },
        { "fadmin", "read the audit trail", false },
        { "ops", "list accounts", true },
        { "ops", "create account in own department", false },
        { "ops", "reset password in own department", false },
        { "ops", "suspend account in own department", false },
        { "ops", "read the audit trail", false },
        { "ops", "list lockouts", true },
        { "audit", "read the audit trail", true },
        { "audit", "create account in own department", false },
        { "audit", "add alias in own department", false },
        { "audit", "list role holders", true },
        { "user", "list role holders", false },
        { "user", "create account in own department", false },
        { "user", "reset password in own department", false },
        { "user", "list lockouts", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_services_apply_the_matrix(string who, string what, bool allowed)
    {
        var r = _test.Runtime;
        var actor = _actors[who];
        Func<Task> action = what switch
        {
            "create account in own department" => () => r.Directory.AddUserAsync(actor, "new@finance.example", "a long pass phrase", null, 0),
            "create account in another department" => () => r.Directory.AddUserAsync(actor, "new@health.example", "a long pass phrase", null, 0),
            "suspend account in own department" => () => r.Directory.SetStateAsync(actor, "victim@finance.example", AccountState.Suspended),
            "suspend account in another department" => () => r.Directory.SetStateAsync(actor, "patient@health.example", AccountState.Suspended),
            "reset password in own department" => () => r.Directory.SetPasswordAsync(actor, "victim@finance.example", "another pass phrase", null),
            "reset password in another department" => () => r.Directory.SetPasswordAsync(actor, "patient@health.example", "another pass phrase", null),
            "add alias in own department" => () => r.Directory.AddAliasAsync(actor, "x@finance.example", "victim@finance.example"),
            "add alias in another department" => () => r.Directory.AddAliasAsync(actor, "x@health.example", "patient@health.example"),
            "grant a role" => () => r.Directory.GrantRoleAsync(actor, "victim@finance.example", Role.PlatformAdmin),
            "add a domain" => () => r.Directory.AddDomainAsync(actor, "new.example", "finance"),
            "read the audit trail" => () => r.AuditService.SearchAsync(actor, new AuditQuery()),
            "list accounts" => () => r.Directory.ListAccountsAsync(actor),
            "list lockouts" => () => r.Directory.ListLockoutsAsync(actor),
            "list role holders" => () => r.Directory.ListRoleHoldersAsync(actor),
            _ => throw new ArgumentException(what),
        };

        if (allowed)
        {
            await action();
            return;
        }

        var refused = await Assert.ThrowsAsync<SealpostException>(action);
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
        var records = await r.Audit.Store.SearchAsync(new AuditQuery(Actor: actor.Name));
        Assert.Contains(records, rec => rec.Event.Outcome == AuditOutcome.Refused);
    }

    [Fact]
    public async Task A_department_administrator_lists_only_its_own_department()
    {
        var visible = await _test.Runtime.Directory.ListAccountsAsync(_actors["fadmin"]);
        Assert.Contains(visible, a => a.Account.Address.ToString() == "victim@finance.example");
        Assert.DoesNotContain(visible, a => a.Account.Address.Domain.Ascii == "health.example");
        var domains = await _test.Runtime.Directory.ListDomainsAsync(_actors["fadmin"]);
        Assert.Equal(["finance.example"], domains.Select(d => d.Name.Ascii));
    }

    [Fact]
    public async Task A_mail_session_cannot_reach_another_accounts_mailbox_by_id()
    {
        var r = _test.Runtime;
        var login = await r.Directory.LoginAsync("user@finance.example", "a long pass phrase");
        using var keys = login!.Value.Session;
        var mail = await r.Mail.OpenAsync(_actors["user"], keys);
        var victim = await r.Directory.RequireAccountAsync("victim@finance.example");
        var victimInbox = (await r.Store.Mail.FindMailboxByRoleAsync(victim.Id, Core.Mail.MailboxRole.Inbox))!;
        var refused = await Assert.ThrowsAsync<SealpostException>(() => mail.ListMessagesAsync(victimInbox.Id, Core.Mail.UidRange.All, default));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
        var records = await r.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.ActionRefused));
        Assert.Contains(records, rec => rec.Event.Actor == "user@finance.example" && rec.Event.Detail == "MailRead");
    }

    [Fact]
    public async Task An_administrator_cannot_open_someone_elses_mail_even_with_their_keys()
    {
        var r = _test.Runtime;
        var login = await r.Directory.LoginAsync("victim@finance.example", "a long pass phrase");
        using var keys = login!.Value.Session;
        var refused = await Assert.ThrowsAsync<SealpostException>(() => r.Mail.OpenAsync(_actors["fadmin"], keys));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
    }
}
