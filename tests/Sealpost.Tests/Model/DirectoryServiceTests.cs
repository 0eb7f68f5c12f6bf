using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Logging;
using Sealpost.Core.Mail;
using Sealpost.Domain;
using Sealpost.Core.Storage;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Model;

/// <summary>Directory rules and recipient expansion over a real SQLite store.</summary>
public sealed class DirectoryServiceTests : IAsyncLifetime
{
    private TestRuntime _test = null!;
    private ISealpostStore _store = null!;
    private DirectoryService _directory = null!;

    public async Task InitializeAsync()
    {
        _test = await TestRuntime.CreateAsync();
        _store = _test.Runtime.Store;
        _directory = _test.Runtime.Directory;
        await _directory.AddTenantAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "finance", "Finance department");
        await _directory.AddDomainAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "finance.example", "finance");
    }

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private RecipientResolver Resolver(int maxNesting = 8, int maxExpanded = 1000) =>
        new(_store.Directory, maxNesting, maxExpanded, LogRedactor.Ephemeral(), NullLogger<RecipientResolver>.Instance);

    private Task<Account> UserAsync(string address) => _directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, address, "correct horse battery", null, 0);

    [Fact]
    public async Task A_new_account_gets_every_special_folder_and_can_log_in()
    {
        var account = await UserAsync("alice@example.test");
        var roles = (await _store.Mail.ListMailboxesAsync(account.Id)).Select(m => m.Role).Order().ToList();
        Assert.Equal(MailboxService.SpecialMailboxes.Select(s => s.Role).Order(), roles);

        Assert.Equal(account.Id, (await _directory.VerifyPasswordAsync("ALICE@example.test", "correct horse battery"))!.Id);
        Assert.Null(await _directory.VerifyPasswordAsync("alice@example.test", "wrong password"));
        Assert.Null(await _directory.VerifyPasswordAsync("nobody@example.test", "correct horse battery"));
        Assert.Null(await _directory.VerifyPasswordAsync("not an address", "correct horse battery"));
    }

    [Fact]
    public async Task Suspended_and_deleted_accounts_cannot_log_in_and_deleted_ones_stay_deleted()
    {
        await UserAsync("bob@example.test");
        await _directory.SetStateAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "bob@example.test", AccountState.Suspended);
        Assert.Null(await _directory.VerifyPasswordAsync("bob@example.test", "correct horse battery"));
        await _directory.SetStateAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "bob@example.test", AccountState.Active);
        Assert.NotNull(await _directory.VerifyPasswordAsync("bob@example.test", "correct horse battery"));
        await _directory.SetStateAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "bob@example.test", AccountState.Deleted);
        Assert.Null(await _directory.VerifyPasswordAsync("bob@example.test", "correct horse battery"));
        var revive = await Assert.ThrowsAsync<SealpostException>(() => _directory.SetStateAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "bob@example.test", AccountState.Active));
        Assert.Equal(ErrorKind.Conflict, revive.Kind);
    }

    [Fact]
    public async Task A_password_change_replaces_the_old_password()
    {
        await UserAsync("carol@example.test");
        await _directory.SetPasswordAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "carol@example.test", "a brand new passphrase", "correct horse battery");
        Assert.Null(await _directory.VerifyPasswordAsync("carol@example.test", "correct horse battery"));
        Assert.NotNull(await _directory.VerifyPasswordAsync("carol@example.test", "a brand new passphrase"));
    }

    [Theory]
    [InlineData("short", "at least 8")]
    [InlineData("has\u0007bell!", "control")]
    [InlineData("zero\u200Bwidth space", "invisible")]
    [InlineData("private \uE000 use here", "private-use")]
    public async Task Weak_or_malformed_passwords_are_refused(string password, string fragment)
    {
        var ex = await Assert.ThrowsAsync<SealpostException>(() => _directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "dave@example.test", password, null, 0));
        Assert.Contains(fragment, ex.Message);
        Assert.Null(await _store.Directory.FindAccountAsync(MailAddress.Parse("dave@example.test")));
    }

    [Fact]
    public async Task Accounts_need_a_local_domain_and_tenants_need_valid_names()
    {
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<SealpostException>(() => UserAsync("eve@elsewhere.test"))).Kind);
        Assert.Equal(ErrorKind.InvalidInput, (await Assert.ThrowsAsync<SealpostException>(() => _directory.AddTenantAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "Bad Name!", null))).Kind);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<SealpostException>(() => _directory.AddDomainAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "other.test", "nosuch"))).Kind);
        Assert.Equal("finance", (await _store.Directory.ListTenantsAsync()).Single(t => t.Name == "finance").Name);
    }

    [Fact]
    public async Task Aliases_and_groups_expand_to_each_account_once()
    {
        var alice = await UserAsync("alice@example.test");
        var bob = await UserAsync("bob@example.test");
        var carol = await UserAsync("carol@example.test");
        await _directory.AddAliasAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "postmaster@example.test", "alice@example.test");
        await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@example.test", "Team");
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@example.test", "alice@example.test");
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@example.test", "bob@example.test");
        await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "all@example.test", "Everyone");
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "all@example.test", "team@example.test");
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "all@example.test", "postmaster@example.test"); // alice again, through an alias
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "all@example.test", "carol@example.test");
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "all@example.test", "partner@remote.example");

        var postmaster = await Resolver().ExpandAsync(MailAddress.Parse("PostMaster@example.test"));
        Assert.Equal([alice.Id], postmaster.LocalAccounts.Select(a => a.Id));

        var all = await Resolver().ExpandAsync(MailAddress.Parse("all@example.test"));
        Assert.True(all.Known);
        Assert.Equal([alice.Id, bob.Id, carol.Id], all.LocalAccounts.Select(a => a.Id));
        Assert.Equal("partner@remote.example", Assert.Single(all.RemoteAddresses).Key);

        Assert.False((await Resolver().ExpandAsync(MailAddress.Parse("nobody@example.test"))).Known);
    }

    [Fact]
    public async Task Deleted_accounts_receive_nothing_and_suspended_ones_still_receive()
    {
        await UserAsync("alice@example.test");
        var bob = await UserAsync("bob@example.test");
        await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@example.test", null);
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@example.test", "alice@example.test");
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "team@example.test", "bob@example.test");
        await _directory.SetStateAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alice@example.test", AccountState.Deleted);
        await _directory.SetStateAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "bob@example.test", AccountState.Suspended);
        var team = await Resolver().ExpandAsync(MailAddress.Parse("team@example.test"));
        Assert.Equal([bob.Id], team.LocalAccounts.Select(a => a.Id));
    }

    [Fact]
    public async Task Group_nesting_that_would_loop_is_refused_directly_and_through_aliases()
    {
        await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "a@example.test", null);
        await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "b@example.test", null);
        await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "c@example.test", null);
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "a@example.test", "b@example.test");
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "b@example.test", "c@example.test");
        var direct = await Assert.ThrowsAsync<SealpostException>(() => _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "c@example.test", "a@example.test"));
        Assert.Contains("loop", direct.Message);
        var self = await Assert.ThrowsAsync<SealpostException>(() => _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "a@example.test", "a@example.test"));
        Assert.Contains("loop", self.Message);

        await _directory.AddAliasAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "alias-of-a@example.test", "a@example.test");
        var viaAlias = await Assert.ThrowsAsync<SealpostException>(() => _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "c@example.test", "alias-of-a@example.test"));
        Assert.Contains("loop", viaAlias.Message);
    }

    [Fact]
    public async Task Expansion_stops_at_the_nesting_and_size_limits()
    {
        var deep = await UserAsync("deep@example.test");
        var shallow = await UserAsync("shallow@example.test");
        await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "g0@example.test", null);
        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "g0@example.test", "shallow@example.test");
        var previous = "g0@example.test";
        for (var i = 1; i <= 4; i++)
        {
            await _directory.AddGroupAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, $"g{i}@example.test", null);
            await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, previous, $"g{i}@example.test");
            previous = $"g{i}@example.test";
        }

        await _directory.AddGroupMemberAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, previous, "deep@example.test");
        var full = await Resolver(maxNesting: 8).ExpandAsync(MailAddress.Parse("g0@example.test"));
        Assert.Equal([deep.Id, shallow.Id], full.LocalAccounts.Select(a => a.Id).Order());
        var limited = await Resolver(maxNesting: 2).ExpandAsync(MailAddress.Parse("g0@example.test"));
        Assert.Equal([shallow.Id], limited.LocalAccounts.Select(a => a.Id));
        var capped = await Resolver(maxExpanded: 1).ExpandAsync(MailAddress.Parse("g0@example.test"));
        Assert.Single(capped.LocalAccounts);
    }

    [Fact]
    public async Task Alias_targets_in_local_domains_must_exist_and_remote_ones_are_forwards()
    {
        var missing = await Assert.ThrowsAsync<SealpostException>(() => _directory.AddAliasAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "x@example.test", "ghost@example.test"));
        Assert.Equal(ErrorKind.NotFound, missing.Kind);
        await _directory.AddAliasAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "fwd@example.test", "someone@remote.example");
        var expansion = await Resolver().ExpandAsync(MailAddress.Parse("fwd@example.test"));
        Assert.Empty(expansion.LocalAccounts);
        Assert.Equal("someone@remote.example", Assert.Single(expansion.RemoteAddresses).Key);
        Assert.Equal(ErrorKind.InvalidInput, (await Assert.ThrowsAsync<SealpostException>(() => _directory.AddAliasAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "s@example.test", "S@example.test"))).Kind);
    }

    [Fact]
    public async Task Mailbox_paths_create_parents_and_inbox_is_case_insensitive()
    {
        var account = await UserAsync("frank@example.test");
        var (_, session) = (await _directory.LoginAsync("frank@example.test", "correct horse battery"))!.Value;
        using var _ = session;
        var mailboxes = _test.Runtime.Mailboxes;
        await mailboxes.CreateAsync(account.Id, session.Names, "Projects/2026/Budget");
        Assert.NotNull(await mailboxes.FindAsync(account.Id, session.Names, "Projects/2026"));
        Assert.Equal(MailboxRole.Inbox, (await mailboxes.FindAsync(account.Id, session.Names, "inbox"))!.Role);
        var paths = (await mailboxes.ListAsync(account.Id, session.Names)).Select(p => p.Path).ToList();
        Assert.Contains("Projects/2026/Budget", paths);
        Assert.Contains("Sent", paths);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SealpostException>(() => mailboxes.CreateAsync(account.Id, session.Names, "Projects/2026"))).Kind);
        Assert.Equal(ErrorKind.InvalidInput, (await Assert.ThrowsAsync<SealpostException>(() => mailboxes.CreateAsync(account.Id, session.Names, "a//b"))).Kind);
    }
}
