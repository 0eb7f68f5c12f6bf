using System.Text;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Configuration;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Storage;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Store;

/// <summary>
/// The store contract, written once. Each backend runs it through a subclass that supplies its
/// <see cref="IStoreFactory"/>; a backend passes only if every test here passes.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private IStoreFactory _factory = null!;

    protected abstract IStoreFactory CreateFactory();

    public Task InitializeAsync()
    {
        _factory = CreateFactory();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    private Task<ISealpostStore> NewStoreAsync(StoreOptions? options = null) => _factory.CreateAsync(options);

    private static byte[] Key(string name) => Encoding.UTF8.GetBytes("key:" + name);

    private static byte[] Sealed(string name) => Encoding.UTF8.GetBytes("sealed:" + name);

    private static async Task<(Account Account, MailDomain Domain)> AccountAsync(ISealpostStore store, string address = "alice@example.test")
    {
        var parsed = MailAddress.Parse(address);
        var tenant = await store.Directory.FindTenantAsync("t") ?? await store.Directory.CreateTenantAsync("t", "Tenant");
        var domain = await store.Directory.FindDomainAsync(parsed.Domain) ?? await store.Directory.AddDomainAsync(tenant.Id, parsed.Domain);
        var account = await store.Directory.CreateAccountAsync(new NewAccount(domain.Id, parsed, "A", 0, AccountRoles.User));
        return (account, domain);
    }

    private static Task<Mailbox> MailboxAsync(ISealpostStore store, long accountId, string name, MailboxRole role = MailboxRole.None, long parent = 0) =>
        store.Mail.CreateMailboxAsync(accountId, parent, Key(name), Sealed(name), role);

    private static NewMessage To(long mailboxId, MessageFlags flags = MessageFlags.None) =>
        new(mailboxId, flags, [], DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

    private static async Task<string> ReadBlobAsync(ISealpostStore store, long blobId)
    {
        await using var stream = await store.Mail.OpenBlobAsync(blobId);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    private static async Task<AccessGrant> GrantAsync(ISealpostStore store)
    {
        var (owner, _) = await AccountAsync(store, "owner@example.test");
        var (reader, _) = await AccountAsync(store, "reader@example.test");
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123);
        var grant = new AccessGrant(new string('a', 32), reader.Id, owner.Id, "why", "admin", at, at, at.AddDays(1), AccessGrantState.Requested, "", 0, [], null);
        await store.Directory.AddAccessGrantAsync(grant);
        return grant;
    }

    [Fact]
    public async Task An_access_grant_round_trips()
    {
        var store = await NewStoreAsync();
        var grant = await GrantAsync(store);
        Assert.Equivalent(grant, await store.Directory.GetAccessGrantAsync(grant.Id));
        Assert.Single(await store.Directory.ListAccessGrantsAsync());
    }

    [Fact]
    public async Task An_access_grant_id_is_unique()
    {
        var store = await NewStoreAsync();
        var grant = await GrantAsync(store);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SealpostException>(() => store.Directory.AddAccessGrantAsync(grant))).Kind);
    }

    [Fact]
    public async Task An_access_grant_changes_only_from_the_state_and_approvals_expected()
    {
        var store = await NewStoreAsync();
        var grant = await GrantAsync(store);
        var active = grant with { State = AccessGrantState.Active, Approvals = "[two]", HolderVersion = 3, Wraps = [1, 2, 3] };
        Assert.True(await store.Directory.ReplaceAccessGrantAsync(grant, active));
        Assert.False(await store.Directory.ReplaceAccessGrantAsync(grant, grant with { State = AccessGrantState.Revoked })); // stale: lost to the first
        var ended = active with { State = AccessGrantState.Expired, Wraps = [], EndedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_100_000) };
        Assert.True(await store.Directory.ReplaceAccessGrantAsync(active, ended));
        Assert.Equivalent(ended, await store.Directory.GetAccessGrantAsync(grant.Id));
    }

    [Fact]
    public async Task Schema_is_current_and_reopening_does_not_migrate_again()
    {
        var store = await NewStoreAsync();
        var version = await store.GetSchemaVersionAsync();
        Assert.True(version >= 1);
        var again = await _factory.OpenAgainAsync(store);
        Assert.Equal(version, await again.GetSchemaVersionAsync());
    }

    [Fact]
    public async Task Tenants_and_domains_round_trip_and_reject_duplicates()
    {
        var store = await NewStoreAsync();
        var tenant = await store.Directory.CreateTenantAsync("finance", "Finance");
        Assert.Equal(tenant, await store.Directory.FindTenantAsync("finance"));
        var conflict = await Assert.ThrowsAsync<SealpostException>(() => store.Directory.CreateTenantAsync("finance", "Again"));
        Assert.Equal(ErrorKind.Conflict, conflict.Kind);

        var domain = await store.Directory.AddDomainAsync(tenant.Id, DomainName.Parse("Bücher.Example"));
        Assert.Equal("xn--bcher-kva.example", domain.Name.Ascii);
        Assert.Equal(domain.Id, (await store.Directory.FindDomainAsync(DomainName.Parse("xn--bcher-kva.example")))!.Id);
        var dup = await Assert.ThrowsAsync<SealpostException>(() => store.Directory.AddDomainAsync(tenant.Id, DomainName.Parse("BÜCHER.example")));
        Assert.Equal(ErrorKind.Conflict, dup.Kind);
        Assert.Single(await store.Directory.ListDomainsAsync());
    }

    [Fact]
    public async Task Accounts_are_found_by_any_spelling_of_their_address()
    {
        var store = await NewStoreAsync();
        var (account, domain) = await AccountAsync(store, "Jöhn.Doe@Example.TEST");
        var found = await store.Directory.FindAccountAsync(MailAddress.Parse("jöhn.doe@example.test"));
        Assert.NotNull(found);
        Assert.Equal(account.Id, found.Id);
        Assert.Equal("Jöhn.Doe", found.Address.LocalPart);
        Assert.Equal(AccountState.Active, found.State);
        Assert.Single(await store.Directory.ListAccountsAsync(domain.Id));
        Assert.Empty(await store.Directory.ListAccountsAsync(domain.Id + 1000));
    }

    [Fact]
    public async Task Accounts_aliases_and_groups_share_one_address_namespace()
    {
        var store = await NewStoreAsync();
        var (account, domain) = await AccountAsync(store);
        var aliasOverAccount = await Assert.ThrowsAsync<SealpostException>(() =>
            store.Directory.AddAliasAsync(domain.Id, MailAddress.Parse("ALICE@example.test"), MailAddress.Parse("x@remote.example")));
        Assert.Equal(ErrorKind.Conflict, aliasOverAccount.Kind);

        await store.Directory.AddAliasAsync(domain.Id, MailAddress.Parse("postmaster@example.test"), account.Address);
        var groupOverAlias = await Assert.ThrowsAsync<SealpostException>(() =>
            store.Directory.CreateGroupAsync(domain.Id, MailAddress.Parse("postmaster@example.test"), "G"));
        Assert.Equal(ErrorKind.Conflict, groupOverAlias.Kind);

        var accountOverAlias = await Assert.ThrowsAsync<SealpostException>(() =>
            store.Directory.CreateAccountAsync(new NewAccount(domain.Id, MailAddress.Parse("postmaster@example.test"), "P", 0, AccountRoles.User)));
        Assert.Equal(ErrorKind.Conflict, accountOverAlias.Kind);

        var entry = await store.Directory.ResolveAddressAsync(MailAddress.Parse("PostMaster@example.test"));
        Assert.Equal(AddressKind.Alias, entry!.Kind);
        Assert.Equal(account.Address, entry.AliasTarget);
        Assert.Equal(AddressKind.Account, (await store.Directory.ResolveAddressAsync(account.Address))!.Kind);
    }

    [Fact]
    public async Task Groups_keep_members_and_aliases_can_be_removed()
    {
        var store = await NewStoreAsync();
        var (alice, domain) = await AccountAsync(store);
        var (bob, _) = await AccountAsync(store, "bob@example.test");
        var group = await store.Directory.CreateGroupAsync(domain.Id, MailAddress.Parse("team@example.test"), "Team");
        await store.Directory.AddGroupMemberAsync(group.Id, alice.Address);
        await store.Directory.AddGroupMemberAsync(group.Id, bob.Address);
        var again = await Assert.ThrowsAsync<SealpostException>(() => store.Directory.AddGroupMemberAsync(group.Id, MailAddress.Parse("ALICE@example.test")));
        Assert.Equal(ErrorKind.Conflict, again.Kind);
        Assert.Equal([alice.Address, bob.Address], await store.Directory.ListGroupMembersAsync(group.Id));

        await store.Directory.RemoveGroupMemberAsync(group.Id, alice.Address);
        Assert.Equal([bob.Address], await store.Directory.ListGroupMembersAsync(group.Id));
        var notMember = await Assert.ThrowsAsync<SealpostException>(() => store.Directory.RemoveGroupMemberAsync(group.Id, alice.Address));
        Assert.Equal(ErrorKind.NotFound, notMember.Kind);

        await store.Directory.AddAliasAsync(domain.Id, MailAddress.Parse("a@example.test"), alice.Address);
        Assert.Single(await store.Directory.ListAliasesAsync());
        await store.Directory.RemoveAliasAsync(MailAddress.Parse("a@example.test"));
        Assert.Null(await store.Directory.ResolveAddressAsync(MailAddress.Parse("a@example.test")));
        Assert.Equal(group.Id, (await store.Directory.FindGroupAsync(MailAddress.Parse("TEAM@example.test")))!.Id);
    }

    [Fact]
    public async Task A_domain_is_removed_only_when_it_has_no_addresses()
    {
        var store = await NewStoreAsync();
        var (_, domain) = await AccountAsync(store);
        var busy = await Assert.ThrowsAsync<SealpostException>(() => store.Directory.RemoveDomainAsync(domain.Id));
        Assert.Equal(ErrorKind.Conflict, busy.Kind);

        var tenant = (await store.Directory.ListTenantsAsync())[0];
        var empty = await store.Directory.AddDomainAsync(tenant.Id, DomainName.Parse("empty.example"));
        await store.Directory.RemoveDomainAsync(empty.Id);
        Assert.Null(await store.Directory.FindDomainAsync(empty.Name));
    }

    [Fact]
    public async Task Key_ring_changes_are_atomic_and_bump_the_credential_version()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var v0 = account.CredentialVersion;
        var added = await store.Directory.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
        {
            NewKey = new AccountKey(account.Id, 1, [1, 2, 3], [9], DateTimeOffset.UtcNow),
            AddCredentials = [new NewCredential(CredentialKind.Password, "password", "verifier-1", 1, [7, 7]), new NewCredential(CredentialKind.AppPassword, "phone", "verifier-app", 1, [8])],
            AddRecoveryWraps = [new RecoveryWrap(account.Id, 1, 1, [5, 5, 5])],
        });
        Assert.Equal(2, added.Count);
        var v1 = (await store.Directory.GetAccountAsync(account.Id))!.CredentialVersion;
        Assert.True(v1 > v0);
        Assert.Equal([1, 2, 3], Assert.Single(await store.Directory.ListAccountKeysAsync(account.Id)).PublicKey);
        Assert.Equal([5, 5, 5], Assert.Single(await store.Directory.ListRecoveryWrapsAsync(account.Id)).WrappedKey);
        Assert.Equal([7, 7], (await store.Directory.ListCredentialsAsync(account.Id)).Single(c => c.Kind == CredentialKind.Password).WrappedKey);

        // Replace the password only: the app password stays.
        await store.Directory.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
        {
            RemoveCredentialKinds = [CredentialKind.Password],
            AddCredentials = [new NewCredential(CredentialKind.Password, "password", "verifier-2", 1, [6])],
        });
        var credentials = await store.Directory.ListCredentialsAsync(account.Id);
        Assert.Equal(["verifier-app", "verifier-2"], credentials.Select(c => c.Verifier));

        // A duplicate key version fails the whole change: nothing of it is applied.
        var duplicate = await Assert.ThrowsAsync<SealpostException>(() => store.Directory.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
        {
            NewKey = new AccountKey(account.Id, 1, [4], [4], DateTimeOffset.UtcNow),
            RemoveAllCredentials = true,
        }));
        Assert.Equal(ErrorKind.Conflict, duplicate.Kind);
        Assert.Equal(2, (await store.Directory.ListCredentialsAsync(account.Id)).Count);

        await store.Directory.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id) { RemoveCredentialWrapsOfKeyVersions = [1] });
        Assert.Empty(await store.Directory.ListCredentialsAsync(account.Id));

        await store.Directory.SetAccountStateAsync(account.Id, AccountState.Suspended);
        var suspended = (await store.Directory.GetAccountAsync(account.Id))!;
        Assert.Equal(AccountState.Suspended, suspended.State);
        var missing = await Assert.ThrowsAsync<SealpostException>(() => store.Directory.SetAccountStateAsync(account.Id + 999, AccountState.Active));
        Assert.Equal(ErrorKind.NotFound, missing.Kind);
    }

    [Fact]
    public async Task The_outbound_queue_keeps_entries_until_removed_and_seals_with_the_row_id()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        var first = await store.Queue.EnqueueAsync(id => [1, 2, (byte)id], 3, now);
        var second = await store.Queue.EnqueueAsync(_ => [4], 1, now);
        Assert.True(second > first);
        var listed = await store.Queue.ListAsync();
        Assert.Equal([first, second], listed.Select(q => q.Id));
        Assert.Equal([1, 2, (byte)first], listed[0].Sealed);
        Assert.Equal((0, 3L, QueueState.Ready, 2), (listed[0].Attempts, listed[0].Size, listed[0].State, listed[0].SealVersion));
        await store.Queue.RemoveAsync(first);
        Assert.Equal(second, Assert.Single(await store.Queue.ListAsync()).Id);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<SealpostException>(() => store.Queue.RemoveAsync(first))).Kind);
    }

    [Fact]
    public async Task A_claimed_message_is_not_claimed_again_until_its_lease_runs_out()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        var id = await store.Queue.EnqueueAsync(_ => [1], 1, now);
        var lease = TimeSpan.FromMinutes(10);
        Assert.Equal(id, Assert.Single(await store.Queue.ClaimAsync("a", now, lease, 10)).Id);
        Assert.Empty(await store.Queue.ClaimAsync("b", now.AddMinutes(9), lease, 10));
        var taken = Assert.Single(await store.Queue.ClaimAsync("b", now.AddMinutes(11), lease, 10));
        Assert.Equal("b", taken.LeaseOwner);
        // The first worker's late update no longer counts.
        Assert.False(await store.Queue.ReleaseAsync(id, "a", [9], 1, now.AddMinutes(20)));
        Assert.False(await store.Queue.CompleteAsync(id, "a"));
    }

    [Fact]
    public async Task A_renewed_lease_keeps_other_workers_away_and_only_its_owner_can_renew()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        var id = await store.Queue.EnqueueAsync(_ => [1], 1, now);
        Assert.Single(await store.Queue.ClaimAsync("a", now, TimeSpan.FromMinutes(10), 10));
        Assert.True(await store.Queue.RenewLeaseAsync(id, "a", now.AddMinutes(30)));
        Assert.False(await store.Queue.RenewLeaseAsync(id, "b", now.AddHours(5)));
        Assert.Empty(await store.Queue.ClaimAsync("b", now.AddMinutes(20), TimeSpan.FromMinutes(10), 10));
        Assert.Single(await store.Queue.ClaimAsync("b", now.AddMinutes(31), TimeSpan.FromMinutes(10), 10));
    }

    [Fact]
    public async Task A_released_message_waits_for_its_next_attempt_with_its_progress()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        var id = await store.Queue.EnqueueAsync(_ => [1], 1, now);
        Assert.Single(await store.Queue.ClaimAsync("a", now, TimeSpan.FromMinutes(10), 10));
        Assert.True(await store.Queue.ReleaseAsync(id, "a", [7, 7], 1, now.AddMinutes(5)));
        Assert.Empty(await store.Queue.ClaimAsync("a", now.AddMinutes(4), TimeSpan.FromMinutes(10), 10));
        var again = Assert.Single(await store.Queue.ClaimAsync("a", now.AddMinutes(5), TimeSpan.FromMinutes(10), 10));
        Assert.Equal(1, again.Attempts);
        Assert.Equal([7, 7], again.Progress);
        Assert.True(await store.Queue.CompleteAsync(id, "a"));
        Assert.Empty(await store.Queue.ListAsync());
    }

    [Fact]
    public async Task A_held_message_is_not_claimed_until_released()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        var id = await store.Queue.EnqueueAsync(_ => [1], 1, now);
        await store.Queue.SetStateAsync(id, QueueState.Held, null);
        Assert.Empty(await store.Queue.ClaimAsync("a", now.AddHours(1), TimeSpan.FromMinutes(10), 10));
        await store.Queue.SetStateAsync(id, QueueState.Ready, now);
        Assert.Single(await store.Queue.ClaimAsync("a", now, TimeSpan.FromMinutes(10), 10));
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<SealpostException>(() => store.Queue.SetStateAsync(id + 99, QueueState.Held, null))).Kind);
    }

    [Fact]
    public async Task Sends_are_counted_per_account_over_the_window()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        Assert.Equal((1, 3), await store.Queue.CountSendAsync(7, 3, now.AddMinutes(-90), now.AddMinutes(-150)));
        Assert.Equal((1, 2), await store.Queue.CountSendAsync(7, 2, now, now.AddHours(-1)));
        Assert.Equal((3, 5), await store.Queue.CountSendAsync(7, 0, now, now.AddHours(-2)));
        Assert.Equal((1, 4), await store.Queue.CountSendAsync(8, 4, now, now.AddHours(-1)));
        // A day later the old entries are gone.
        Assert.Equal((1, 1), await store.Queue.CountSendAsync(7, 1, now.AddDays(2), now.AddDays(-10)));
    }

    [Fact]
    public async Task A_message_can_be_queued_held()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        var id = await store.Queue.EnqueueAsync(_ => [1], 1, now, default, QueueState.Held);
        Assert.Equal(QueueState.Held, Assert.Single(await store.Queue.ListAsync()).State);
        Assert.Empty(await store.Queue.ClaimAsync("a", now.AddHours(1), TimeSpan.FromMinutes(1), 10));
        await store.Queue.SetStateAsync(id, QueueState.Ready, now);
        Assert.Single(await store.Queue.ClaimAsync("a", now, TimeSpan.FromMinutes(1), 10));
    }

    [Fact]
    public async Task Concurrent_claims_never_hand_one_message_to_two_workers()
    {
        var store = await NewStoreAsync();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 40; i++)
        {
            await store.Queue.EnqueueAsync(_ => [1], 1, now);
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => store.Queue.ClaimAsync($"w{w}", now, TimeSpan.FromMinutes(10), 7)));
        var ids = claims.SelectMany(c => c.Select(m => m.Id)).ToList();
        Assert.Equal(40, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task Keystore_entries_are_added_once_and_recovery_keys_are_versioned()
    {
        var store = await NewStoreAsync();
        Assert.Null(await store.Directory.GetKeystoreEntryAsync("queue"));
        Assert.True(await store.Directory.TryAddKeystoreEntryAsync("queue", [1, 2]));
        Assert.False(await store.Directory.TryAddKeystoreEntryAsync("queue", [3, 4]));
        Assert.Equal([1, 2], await store.Directory.GetKeystoreEntryAsync("queue"));

        await store.Directory.AddRecoveryKeyAsync(new RecoveryKey(1, [1], [2], DateTimeOffset.UtcNow));
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SealpostException>(() => store.Directory.AddRecoveryKeyAsync(new RecoveryKey(1, [3], [4], DateTimeOffset.UtcNow)))).Kind);
        Assert.Equal([1], Assert.Single(await store.Directory.ListRecoveryKeysAsync()).PublicKey);
    }

    [Fact]
    public async Task Wrapped_keys_are_replaced_without_moving_modseq_and_listed_with_metadata()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray(), [4, 4]), [new NewMessage(inbox.Id, MessageFlags.None, [], DateTimeOffset.UtcNow, [1])]);
        var before = (await store.Mail.GetMailboxAsync(inbox.Id))!.HighestModSeq;
        await store.Mail.UpdateWrappedKeysAsync(inbox.Id, [(1u, new byte[] { 2, 2 })]);
        Assert.Equal([2, 2], (await store.Mail.GetMessageAsync(inbox.Id, 1))!.WrappedKey);
        Assert.Equal(before, (await store.Mail.GetMailboxAsync(inbox.Id))!.HighestModSeq);
        var listed = Assert.Single(await store.Mail.ListSealedMetadataAsync(inbox.Id, UidRange.All));
        Assert.Equal([4, 4], listed.Metadata);
        Assert.Equal(1u, listed.Uid);

        var keyword = await store.Mail.GetOrCreateKeywordAsync(account.Id, Key("$a"), Sealed("$a"));
        await store.Mail.UpdateKeywordAsync(keyword.Id, Key("$b"), Sealed("$b"));
        Assert.Equal(Sealed("$b"), Assert.Single(await store.Mail.ListKeywordsAsync(account.Id)).SealedName);
    }

    [Fact]
    public async Task Several_wrapped_keys_are_replaced_in_one_call_and_unknown_uids_are_ignored()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        for (var i = 0; i < 3; i++)
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [new NewMessage(inbox.Id, MessageFlags.None, [], DateTimeOffset.UtcNow, [1])]);
        }

        await store.Mail.UpdateWrappedKeysAsync(inbox.Id, [(3u, new byte[] { 3 }), (1u, new byte[] { 1 }), (99u, new byte[] { 9 })]);
        Assert.Equal([[1], [1], [3]], (await store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).Select(m => m.WrappedKey!).ToArray());
    }

    [Fact]
    public async Task Wrapped_keys_are_replaced_only_where_the_row_still_holds_what_was_read()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        for (var i = 0; i < 3; i++)
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [new NewMessage(inbox.Id, MessageFlags.None, [], DateTimeOffset.UtcNow, [1])]);
        }

        await store.Mail.UpdateWrappedKeysAsync(inbox.Id, [(2u, new byte[] { 5 })]); // written after the read below saw [1]
        var replaced = await store.Mail.ReplaceWrappedKeysAsync(inbox.Id, [(1u, new byte[] { 1 }, new byte[] { 7 }), (2u, new byte[] { 1 }, new byte[] { 7 }), (3u, new byte[] { 1 }, new byte[] { 7 })]);
        Assert.Equal(2, replaced);
        Assert.Equal([[7], [5], [7]], (await store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).Select(m => m.WrappedKey!).ToArray());
    }

    [Fact]
    public async Task An_account_lease_is_held_by_one_handle_at_a_time_and_free_again_once_released()
    {
        var store = await NewStoreAsync();
        var other = await _factory.OpenAgainAsync(store);
        var lease = await store.Mail.TryLeaseAccountAsync(7);
        Assert.NotNull(lease);
        Assert.Null(await other.Mail.TryLeaseAccountAsync(7));
        Assert.Null(await store.Mail.TryLeaseAccountAsync(7));
        await using (var unrelated = await other.Mail.TryLeaseAccountAsync(8))
        {
            Assert.NotNull(unrelated);
        }

        await lease!.DisposeAsync();
        await using var again = await other.Mail.TryLeaseAccountAsync(7);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task Detached_subscriptions_are_kept_once_per_name_and_removed_by_key()
    {
        await using var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var (other, _) = await AccountAsync(store, "bob@example.test");
        await store.Mail.AddDetachedSubscriptionAsync(account.Id, Key("Gone"), Sealed("Gone"));
        await store.Mail.AddDetachedSubscriptionAsync(account.Id, Key("Gone"), Sealed("Gone again"));
        await store.Mail.AddDetachedSubscriptionAsync(other.Id, Key("Gone"), Sealed("Bob's"));
        var listed = Assert.Single(await store.Mail.ListDetachedSubscriptionsAsync(account.Id));
        Assert.Equal(Sealed("Gone"), listed.SealedName);
        Assert.True(await store.Mail.RemoveDetachedSubscriptionAsync(account.Id, Key("Gone")));
        Assert.False(await store.Mail.RemoveDetachedSubscriptionAsync(account.Id, Key("Gone")));
        Assert.Empty(await store.Mail.ListDetachedSubscriptionsAsync(account.Id));
        Assert.Single(await store.Mail.ListDetachedSubscriptionsAsync(other.Id));
    }

    [Fact]
    public async Task Mailboxes_enforce_unique_names_per_parent_and_unique_roles()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        Assert.Equal(1u, inbox.UidNext);
        Assert.True(inbox.UidValidity > 0);

        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SealpostException>(() => MailboxAsync(store, account.Id, "INBOX"))).Kind);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<SealpostException>(() => MailboxAsync(store, account.Id, "Other", MailboxRole.Inbox))).Kind);

        var projects = await MailboxAsync(store, account.Id, "Projects");
        var child = await MailboxAsync(store, account.Id, "INBOX", parent: projects.Id); // same leaf name, other parent
        Assert.Equal(projects.Id, child.ParentId);
        Assert.Equal(child.Id, (await store.Mail.FindMailboxAsync(account.Id, projects.Id, Key("INBOX")))!.Id);
        Assert.Equal(inbox.Id, (await store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!.Id);
        Assert.Equal(3, (await store.Mail.ListMailboxesAsync(account.Id)).Count);
        Assert.Equal(Sealed("Projects"), (await store.Mail.GetMailboxAsync(projects.Id))!.SealedName);
    }

    [Fact]
    public async Task Rename_keeps_uidvalidity_and_refuses_cycles_and_deleting_a_parent_is_refused()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var a = await MailboxAsync(store, account.Id, "A");
        var b = await MailboxAsync(store, account.Id, "B", parent: a.Id);
        await store.Mail.RenameMailboxAsync(a.Id, 0, Key("A2"), Sealed("A2"));
        var renamed = (await store.Mail.GetMailboxAsync(a.Id))!;
        Assert.Equal(a.UidValidity, renamed.UidValidity);
        Assert.Equal(Key("A2"), renamed.NameKey);

        var cycle = await Assert.ThrowsAsync<SealpostException>(() => store.Mail.RenameMailboxAsync(a.Id, b.Id, Key("A3"), Sealed("A3")));
        Assert.Equal(ErrorKind.InvalidInput, cycle.Kind);
        var parent = await Assert.ThrowsAsync<SealpostException>(() => store.Mail.DeleteMailboxAsync(a.Id));
        Assert.Equal(ErrorKind.Conflict, parent.Kind);

        await store.Mail.DeleteMailboxAsync(b.Id);
        await store.Mail.DeleteMailboxAsync(a.Id);
        Assert.Empty(await store.Mail.ListMailboxesAsync(account.Id));
    }

    [Fact]
    public async Task A_recreated_mailbox_gets_a_new_uidvalidity()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var first = await MailboxAsync(store, account.Id, "Reports");
        await store.Mail.DeleteMailboxAsync(first.Id);
        var second = await MailboxAsync(store, account.Id, "Reports");
        Assert.True(second.UidValidity > first.UidValidity);
    }

    [Fact]
    public async Task One_delivery_to_several_mailboxes_stores_the_blob_once()
    {
        var store = await NewStoreAsync();
        var (alice, _) = await AccountAsync(store);
        var (bob, _) = await AccountAsync(store, "bob@example.test");
        var aliceInbox = await MailboxAsync(store, alice.Id, "INBOX", MailboxRole.Inbox);
        var bobInbox = await MailboxAsync(store, bob.Id, "INBOX", MailboxRole.Inbox);
        var content = "Subject: hello\r\n\r\nbody\r\n";
        var metadata = Encoding.UTF8.GetBytes("meta");
        var results = await store.Mail.DeliverAsync(NewBlob.FromBytes(Encoding.UTF8.GetBytes(content), metadata),
            [To(bobInbox.Id), To(aliceInbox.Id, MessageFlags.Flagged)]);

        Assert.Equal(2, results.Count);
        Assert.Equal(bobInbox.Id, results[0].MailboxId);
        Assert.Equal(aliceInbox.Id, results[1].MailboxId);
        Assert.Equal(results[0].BlobId, results[1].BlobId);
        Assert.All(results, r => Assert.Equal(1u, r.Uid));
        Assert.Equal(content, await ReadBlobAsync(store, results[0].BlobId));
        Assert.Equal(metadata, await store.Mail.GetBlobMetadataAsync(results[0].BlobId));

        var message = (await store.Mail.GetMessageAsync(aliceInbox.Id, 1))!;
        Assert.Equal(MessageFlags.Flagged, message.Flags);
        Assert.Equal(content.Length, message.Size);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), message.InternalDate);
        var mailbox = (await store.Mail.GetMailboxAsync(aliceInbox.Id))!;
        Assert.Equal(2u, mailbox.UidNext);
        Assert.Equal(1, mailbox.MessageCount);
        Assert.Equal(message.ModSeq, mailbox.HighestModSeq);
        Assert.Equal(new QuotaUsage(content.Length, 1), await store.Mail.GetUsageAsync(alice.Id));
    }

    [Fact]
    public async Task Large_blobs_round_trip_and_are_removed_with_their_last_message()
    {
        var store = await NewStoreAsync(new StoreOptions { InlineBlobMaxBytes = 1024 });
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        var archive = await MailboxAsync(store, account.Id, "Archive", MailboxRole.Archive);
        var content = new byte[300_000];
        new Random(7).NextBytes(content);
        var result = (await store.Mail.DeliverAsync(NewBlob.FromBytes(content), [To(inbox.Id), To(archive.Id)]))[0];

        await using (var stream = await store.Mail.OpenBlobAsync(result.BlobId))
        {
            var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(content, copy.ToArray());
        }

        await store.Mail.ExpungeAsync(inbox.Id, [1]);
        Assert.NotNull(await store.Mail.OpenBlobAsync(result.BlobId)); // still referenced by Archive
        await store.Mail.ExpungeAsync(archive.Id, [1]);
        var gone = await Assert.ThrowsAsync<SealpostException>(() => store.Mail.OpenBlobAsync(result.BlobId));
        Assert.Equal(ErrorKind.NotFound, gone.Kind);
    }

    [Fact]
    public async Task A_delivery_that_fails_for_one_mailbox_stores_nothing()
    {
        var store = await NewStoreAsync(new StoreOptions { InlineBlobMaxBytes = 16 });
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        var failure = await Assert.ThrowsAsync<SealpostException>(() =>
            store.Mail.DeliverAsync(NewBlob.FromBytes(new byte[4096]), [To(inbox.Id), To(inbox.Id + 12345)]));
        Assert.Equal(ErrorKind.NotFound, failure.Kind);

        var after = (await store.Mail.GetMailboxAsync(inbox.Id))!;
        Assert.Equal(1u, after.UidNext);
        Assert.Equal(0, after.MessageCount);
        Assert.Empty(await store.Mail.ListMessagesAsync(inbox.Id, UidRange.All));
        var swept = await store.Mail.SweepOrphansAsync(TimeSpan.Zero);
        Assert.Equal(0, swept.FilesRemoved); // the failed delivery already removed its file
    }

    [Fact]
    public async Task Flags_and_keywords_change_with_a_new_modseq_only_when_something_changed()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        foreach (var _ in Enumerable.Range(0, 3))
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [To(inbox.Id)]);
        }

        var work = await store.Mail.GetOrCreateKeywordAsync(account.Id, Key("$Work"), Sealed("$Work"));
        Assert.Equal(work.Id, (await store.Mail.GetOrCreateKeywordAsync(account.Id, Key("$Work"), Sealed("$Work"))).Id);
        var before = (await store.Mail.GetMailboxAsync(inbox.Id))!.HighestModSeq;

        var added = await store.Mail.ChangeFlagsAsync(inbox.Id, [1, 2], new FlagChange(FlagOperation.Add, MessageFlags.Seen, [work.Id]));
        Assert.Equal(2, added.Updated.Count);
        Assert.All(added.Updated, u => Assert.Equal(before + 1, u.ModSeq));
        Assert.Equal([work.Id], (await store.Mail.GetMessageAsync(inbox.Id, 1))!.KeywordIds);

        var noop = await store.Mail.ChangeFlagsAsync(inbox.Id, [1, 2], new FlagChange(FlagOperation.Add, MessageFlags.Seen, []));
        Assert.Empty(noop.Updated);
        Assert.Equal(before + 1, noop.HighestModSeq);

        var removed = await store.Mail.ChangeFlagsAsync(inbox.Id, [1], new FlagChange(FlagOperation.Remove, MessageFlags.Seen, [work.Id]));
        Assert.Equal(MessageFlags.None, Assert.Single(removed.Updated).Flags);

        var replaced = await store.Mail.ChangeFlagsAsync(inbox.Id, [3], new FlagChange(FlagOperation.Replace, MessageFlags.Answered | MessageFlags.Draft, []));
        Assert.Equal(MessageFlags.Answered | MessageFlags.Draft, Assert.Single(replaced.Updated).Flags);
        Assert.Single(await store.Mail.ListKeywordsAsync(account.Id));
    }

    [Fact]
    public async Task Unchangedsince_refuses_messages_modified_after_the_given_modseq()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("a"u8.ToArray()), [To(inbox.Id)]);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("b"u8.ToArray()), [To(inbox.Id)]);
        var m1 = (await store.Mail.GetMessageAsync(inbox.Id, 1))!;
        await store.Mail.ChangeFlagsAsync(inbox.Id, [2], new FlagChange(FlagOperation.Add, MessageFlags.Flagged, []));

        var result = await store.Mail.ChangeFlagsAsync(inbox.Id, [1, 2], new FlagChange(FlagOperation.Add, MessageFlags.Seen, [], UnchangedSince: m1.ModSeq + 1));
        Assert.Equal([2u], result.FailedUnchangedSince);
        Assert.Equal(1u, Assert.Single(result.Updated).Uid);
    }

    [Fact]
    public async Task A_flag_change_returns_every_named_message_as_it_left_it_in_uid_order()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        for (var i = 0; i < 4; i++)
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [To(inbox.Id)]);
        }

        await store.Mail.ChangeFlagsAsync(inbox.Id, [2], new FlagChange(FlagOperation.Add, MessageFlags.Seen, []));
        var already = (await store.Mail.GetMessageAsync(inbox.Id, 2))!;
        await store.Mail.ChangeFlagsAsync(inbox.Id, [4], new FlagChange(FlagOperation.Add, MessageFlags.Flagged, []));
        var refused = (await store.Mail.GetMessageAsync(inbox.Id, 4))!;

        // 2 already has \Seen (unchanged), 4 was modified after UNCHANGEDSINCE (refused), 9 does not exist.
        var result = await store.Mail.ChangeFlagsAsync(inbox.Id, [9, 4, 2, 1], new FlagChange(FlagOperation.Add, MessageFlags.Seen, [], UnchangedSince: already.ModSeq));

        var current = result.Current();
        Assert.Equal([1u, 2u, 4u], current.Select(c => c.Uid));
        Assert.Equal((MessageFlags.Seen, result.HighestModSeq), (current[0].Flags, current[0].ModSeq));
        Assert.Equal((MessageFlags.Seen, already.ModSeq), (current[1].Flags, current[1].ModSeq));
        Assert.Equal((MessageFlags.Flagged, refused.ModSeq), (current[2].Flags, current[2].ModSeq));
        Assert.Equal([4u], result.FailedUnchangedSince);
    }

    [Fact]
    public async Task A_flag_change_that_changes_nothing_still_returns_the_messages_as_they_are()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [To(inbox.Id)]);
        var message = (await store.Mail.GetMessageAsync(inbox.Id, 1))!;

        var result = await store.Mail.ChangeFlagsAsync(inbox.Id, [1], new FlagChange(FlagOperation.Remove, MessageFlags.Seen, []));

        Assert.Empty(result.Updated);
        var state = Assert.Single(result.Current());
        Assert.Equal((1u, MessageFlags.None, message.ModSeq), (state.Uid, state.Flags, state.ModSeq));
    }

    [Fact]
    public async Task Changes_since_a_modseq_report_flag_changes_appends_and_expunges()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        for (var i = 0; i < 4; i++)
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes(Encoding.UTF8.GetBytes("m" + i)), [To(inbox.Id)]);
        }

        var mark = (await store.Mail.GetMailboxAsync(inbox.Id))!.HighestModSeq;
        await store.Mail.ChangeFlagsAsync(inbox.Id, [2], new FlagChange(FlagOperation.Add, MessageFlags.Seen, []));
        var expunged = await store.Mail.ExpungeAsync(inbox.Id, [3, 4, 99]);
        Assert.Equal([3u, 4u], expunged.ExpungedUids);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("new"u8.ToArray()), [To(inbox.Id)]);

        var changes = await store.Mail.GetChangesAsync(inbox.Id, mark);
        Assert.Equal([2u, 5u], changes.Changed.Select(m => m.Uid));
        Assert.Equal([3u, 4u], changes.Expunged);
        Assert.Equal((await store.Mail.GetMailboxAsync(inbox.Id))!.HighestModSeq, changes.HighestModSeq);
        Assert.Equal([1u, 2u, 5u], (await store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).Select(m => m.Uid));
        Assert.Equal([2u], (await store.Mail.ListMessagesAsync(inbox.Id, new UidRange(2, 4))).Select(m => m.Uid));
    }

    [Fact]
    public async Task Failed_logins_are_counted_listed_cleared_and_pruned()
    {
        var store = await NewStoreAsync();
        var t0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        await store.Directory.RecordLoginFailureAsync("acct:alice@example.test", t0);
        await store.Directory.RecordLoginFailureAsync("acct:alice@example.test", t0.AddMinutes(5));
        await store.Directory.RecordLoginFailureAsync("ip:192.0.2.7", t0.AddMinutes(5));
        Assert.Equal(2, await store.Directory.CountLoginFailuresAsync("acct:alice@example.test", t0));
        Assert.Equal(1, await store.Directory.CountLoginFailuresAsync("acct:alice@example.test", t0.AddMinutes(1)));
        Assert.Equal(0, await store.Directory.CountLoginFailuresAsync("acct:bob@example.test", t0));
        var listed = await store.Directory.ListLoginFailuresAsync(t0);
        Assert.Equal([new Sealpost.Core.Security.LoginFailureCount("acct:alice@example.test", 2, t0.AddMinutes(5)), new Sealpost.Core.Security.LoginFailureCount("ip:192.0.2.7", 1, t0.AddMinutes(5))], listed);
        await store.Directory.ClearLoginFailuresAsync("acct:alice@example.test");
        Assert.Equal(0, await store.Directory.CountLoginFailuresAsync("acct:alice@example.test", t0));
        Assert.Equal(1, await store.Directory.PruneLoginFailuresAsync(t0.AddMinutes(6)));
        Assert.Empty(await store.Directory.ListLoginFailuresAsync(t0));
    }

    [Fact]
    public async Task Pruning_failed_logins_can_keep_one_prefix()
    {
        await using var store = await NewStoreAsync();
        var old = DateTimeOffset.UtcNow.AddDays(-2);
        await store.Directory.RecordLoginFailureAsync("known:abc", old);
        await store.Directory.RecordLoginFailureAsync("acct:abc", old);
        Assert.Equal(1, await store.Directory.PruneLoginFailuresAsync(DateTimeOffset.UtcNow.AddDays(-1), "known:"));
        Assert.Equal(1, await store.Directory.CountLoginFailuresAsync("known:abc", DateTimeOffset.MinValue));
        Assert.Equal(1, await store.Directory.PruneLoginFailuresAsync(DateTimeOffset.UtcNow.AddDays(-1)));
    }

    [Fact]
    public async Task Api_credentials_are_found_by_their_hash_listed_touched_and_revoked()
    {
        await using var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var hash = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var made = await store.Directory.CreateApiCredentialAsync(
            new NewApiCredential(account.Id, ApiCredentialKind.Token, "ci", AccountRoles.User | AccountRoles.Operator, true, hash, now.AddDays(1)) { Domains = ["a.test", "b.test"] }, now);
        var session = await store.Directory.CreateApiCredentialAsync(new NewApiCredential(account.Id, ApiCredentialKind.Session, "sign-in", AccountRoles.User, false, [9, 9, 9], now.AddHours(1)), now);

        var found = await store.Directory.FindApiCredentialAsync(hash);
        Assert.NotNull(found);
        Assert.Equal((made.Id, ApiCredentialKind.Token, "ci", AccountRoles.User | AccountRoles.Operator, true), (found!.Id, found.Kind, found.Label, found.Roles, found.SecondFactor));
        Assert.Equal(["a.test", "b.test"], found.Domains);
        Assert.Null(await store.Directory.FindApiCredentialAsync([1, 2, 3]));

        await store.Directory.TouchApiCredentialAsync(made.Id, now.AddMinutes(5));
        Assert.Equal(now.AddMinutes(5), (await store.Directory.FindApiCredentialAsync(hash))!.LastUsedAt);
        Assert.Equal(2, (await store.Directory.ListApiCredentialsAsync(account.Id)).Count);

        Assert.Equal(1, await store.Directory.RevokeApiCredentialsAsync(account.Id, null, ApiCredentialKind.Session, now));
        Assert.False((await store.Directory.FindApiCredentialAsync([9, 9, 9]))!.IsLive(now));
        Assert.True((await store.Directory.FindApiCredentialAsync(hash))!.IsLive(now));
        Assert.Equal(0, await store.Directory.RevokeApiCredentialsAsync(account.Id, session.Id, null, now));
        Assert.Equal(1, await store.Directory.RevokeApiCredentialsAsync(account.Id, made.Id, null, now));
        Assert.False((await store.Directory.FindApiCredentialAsync(hash))!.IsLive(now));
    }

    [Fact]
    public async Task A_totp_step_and_a_recovery_code_list_advance_only_once()
    {
        await using var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        Assert.Null(await store.Directory.GetSecondFactorAsync(account.Id));
        await store.Directory.SetSecondFactorAsync(new SecondFactor(account.Id, [1, 2, 3], false, 0, ""));
        await store.Directory.SetSecondFactorAsync(new SecondFactor(account.Id, [4, 5, 6], true, 10, "a b c"));
        var factor = await store.Directory.GetSecondFactorAsync(account.Id);
        Assert.Equal([4, 5, 6], factor!.SealedSecret);
        Assert.Equal((true, 10L, "a b c"), (factor.Confirmed, factor.LastStep, factor.RecoveryCodes));

        Assert.True(await store.Directory.AdvanceTotpStepAsync(account.Id, 11));
        Assert.False(await store.Directory.AdvanceTotpStepAsync(account.Id, 11));
        Assert.False(await store.Directory.AdvanceTotpStepAsync(account.Id, 5));
        Assert.True(await store.Directory.ReplaceRecoveryCodesAsync(account.Id, "a b c", "a c"));
        Assert.False(await store.Directory.ReplaceRecoveryCodesAsync(account.Id, "a b c", "a c"));
        await store.Directory.RemoveSecondFactorAsync(account.Id);
        Assert.Null(await store.Directory.GetSecondFactorAsync(account.Id));
    }

    [Fact]
    public async Task Accounts_come_in_pages_after_a_key_and_update_only_at_the_version_read()
    {
        await using var store = await NewStoreAsync();
        var (first, domain) = await AccountAsync(store, "a1@example.test");
        for (var i = 2; i <= 5; i++)
        {
            await AccountAsync(store, $"a{i}@example.test");
        }

        var other = await AccountAsync(store, "z@other.test");
        var page = await store.Directory.ListAccountsPageAsync(null, null, 2);
        Assert.Equal(["a1@example.test", "a2@example.test"], page.Select(a => a.Address.ToString()));
        page = await store.Directory.ListAccountsPageAsync([domain.Id], page[^1].Address.Key, 10);
        Assert.Equal(["a3@example.test", "a4@example.test", "a5@example.test"], page.Select(a => a.Address.ToString()));
        Assert.Empty(await store.Directory.ListAccountsPageAsync([], null, 10));
        Assert.Single(await store.Directory.ListAccountsPageAsync([other.Domain.Id], null, 10));

        Assert.True(await store.Directory.UpdateAccountAsync(first.Id, "First", 1000, first.CredentialVersion));
        Assert.False(await store.Directory.UpdateAccountAsync(first.Id, "Again", 2000, first.CredentialVersion));
        var updated = await store.Directory.GetAccountAsync(first.Id);
        Assert.Equal(("First", 1000L, first.CredentialVersion + 1), (updated!.DisplayName, updated.QuotaBytes, updated.CredentialVersion));
    }

    [Fact]
    public async Task A_state_change_is_dated_and_recovery_wraps_can_all_go()
    {
        await using var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await store.Directory.SetAccountStateAsync(account.Id, AccountState.Deleted);
        Assert.True((await store.Directory.GetAccountAsync(account.Id))!.StateChangedAt >= before);
        await store.Directory.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id) { AddRecoveryWraps = [new RecoveryWrap(account.Id, 1, 1, [1, 2])] });
        Assert.Single(await store.Directory.ListRecoveryWrapsAsync(account.Id));
        await store.Directory.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id) { RemoveAllRecoveryWraps = true });
        Assert.Empty(await store.Directory.ListRecoveryWrapsAsync(account.Id));
        Assert.True(await store.ScrubAsync());
    }

    [Fact]
    public async Task Uid_listing_gives_every_uid_in_order_and_the_first_unseen()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        var (none, noneUnseen) = await store.Mail.ListUidsAsync(inbox.Id);
        Assert.Empty(none);
        Assert.Equal(0u, noneUnseen);
        for (var i = 0; i < 5; i++)
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes(Encoding.UTF8.GetBytes("m" + i)), [To(inbox.Id) with { Flags = i < 2 ? MessageFlags.Seen : MessageFlags.None }]);
        }

        await store.Mail.ExpungeAsync(inbox.Id, [3]);
        var (uids, firstUnseen) = await store.Mail.ListUidsAsync(inbox.Id);
        Assert.Equal([1u, 2u, 4u, 5u], uids);
        Assert.Equal(4u, firstUnseen);
    }

    [Fact]
    public async Task Pruning_the_change_log_is_reported_so_resync_stays_correct()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        for (var i = 0; i < 3; i++)
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes(Encoding.UTF8.GetBytes("m" + i)), [To(inbox.Id)]);
        }

        await store.Mail.ExpungeAsync(inbox.Id, [1]);
        var afterFirst = (await store.Mail.GetMailboxAsync(inbox.Id))!.HighestModSeq;
        Assert.True((await store.Mail.GetChangesAsync(inbox.Id, 0)).IsComplete);

        // Nothing is old enough yet.
        Assert.Equal(0, await store.Mail.PruneChangesAsync(DateTimeOffset.UtcNow.AddDays(-1)));
        Assert.Equal(0, (await store.Mail.GetChangesAsync(inbox.Id, 0)).PrunedModSeq);

        Assert.True(await store.Mail.PruneChangesAsync(DateTimeOffset.UtcNow.AddSeconds(5)) > 0);
        await store.Mail.ExpungeAsync(inbox.Id, [2]);
        var old = await store.Mail.GetChangesAsync(inbox.Id, 0);
        Assert.Equal(afterFirst, old.PrunedModSeq);
        Assert.False(old.IsComplete); // a client this far behind must be told every missing UID
        Assert.Equal([2u], old.Expunged);
        var recent = await store.Mail.GetChangesAsync(inbox.Id, afterFirst);
        Assert.True(recent.IsComplete);
        Assert.Equal([2u], recent.Expunged);
    }

    [Fact]
    public async Task Uids_are_never_reused_after_expunge()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("a"u8.ToArray()), [To(inbox.Id)]);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("b"u8.ToArray()), [To(inbox.Id)]);
        await store.Mail.ExpungeAsync(inbox.Id, [2]);
        var next = await store.Mail.DeliverAsync(NewBlob.FromBytes("c"u8.ToArray()), [To(inbox.Id)]);
        Assert.Equal(3u, next[0].Uid);
    }

    [Fact]
    public async Task Copy_shares_blobs_and_move_expunges_the_source()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        var archive = await MailboxAsync(store, account.Id, "Archive", MailboxRole.Archive);
        for (var i = 0; i < 3; i++)
        {
            await store.Mail.DeliverAsync(NewBlob.FromBytes(Encoding.UTF8.GetBytes("m" + i)), [To(inbox.Id, MessageFlags.Seen)]);
        }

        var copy = await store.Mail.CopyMessagesAsync(inbox.Id, [3, 1, 42], archive.Id);
        Assert.Equal([1u, 3u], copy.SourceUids);
        Assert.Equal([1u, 2u], copy.DestinationUids);
        Assert.Equal(archive.UidValidity, copy.DestinationUidValidity);
        var copied = (await store.Mail.GetMessageAsync(archive.Id, 2))!;
        Assert.Equal((await store.Mail.GetMessageAsync(inbox.Id, 3))!.BlobId, copied.BlobId);
        Assert.Equal(MessageFlags.Seen, copied.Flags);

        var move = await store.Mail.MoveMessagesAsync(inbox.Id, [2], archive.Id);
        Assert.Equal([3u], move.DestinationUids);
        Assert.Equal([1u, 3u], (await store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).Select(m => m.Uid));
        Assert.Equal("m1", await ReadBlobAsync(store, (await store.Mail.GetMessageAsync(archive.Id, 3))!.BlobId));
        Assert.Equal([2u], (await store.Mail.GetChangesAsync(inbox.Id, 0)).Expunged);

        var (other, _) = await AccountAsync(store, "mallory@example.test");
        var theirs = await MailboxAsync(store, other.Id, "INBOX", MailboxRole.Inbox);
        var forbidden = await Assert.ThrowsAsync<SealpostException>(() => store.Mail.CopyMessagesAsync(inbox.Id, [1], theirs.Id));
        Assert.Equal(ErrorKind.Forbidden, forbidden.Kind);
    }

    [Fact]
    public async Task Move_within_one_mailbox_gives_new_uids_and_expunges_the_old_ones()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("one"u8.ToArray()), [To(inbox.Id)]);
        await store.Mail.DeliverAsync(NewBlob.FromBytes("two"u8.ToArray()), [To(inbox.Id)]);

        var move = await store.Mail.MoveMessagesAsync(inbox.Id, [1], inbox.Id);

        Assert.Equal([1u], move.SourceUids);
        Assert.Equal([3u], move.DestinationUids);
        Assert.Equal([2u, 3u], (await store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).Select(m => m.Uid));
        Assert.Equal("one", await ReadBlobAsync(store, (await store.Mail.GetMessageAsync(inbox.Id, 3))!.BlobId));
        Assert.Equal(new QuotaUsage(6, 2), await store.Mail.GetUsageAsync(account.Id));
    }

    [Fact]
    public async Task Recent_is_claimed_once()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        Assert.Equal(1u, (await store.Mail.GetMailboxAsync(inbox.Id))!.FirstRecentUid);

        Assert.Equal(1u, await store.Mail.ClaimRecentAsync(inbox.Id, 2));
        Assert.Equal(3u, await store.Mail.ClaimRecentAsync(inbox.Id, 2)); // nothing left for a second session
        Assert.Equal(3u, await store.Mail.ClaimRecentAsync(inbox.Id, 5));
        Assert.Equal(6u, (await store.Mail.GetMailboxAsync(inbox.Id))!.FirstRecentUid);
        Assert.Equal(6u, await store.Mail.ClaimRecentAsync(inbox.Id, 4)); // never moves back
    }

    [Fact]
    public async Task A_shared_blob_goes_only_when_its_last_message_is_expunged()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        var archive = await MailboxAsync(store, account.Id, "Archive", MailboxRole.Archive);
        var delivered = await store.Mail.DeliverAsync(NewBlob.FromBytes("kept"u8.ToArray()), [To(inbox.Id)]);
        await store.Mail.CopyMessagesAsync(inbox.Id, [1], archive.Id);

        await store.Mail.ExpungeAsync(inbox.Id, [1]);
        Assert.Equal("kept", await ReadBlobAsync(store, delivered[0].BlobId));

        await store.Mail.ExpungeAsync(archive.Id, [1]);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<SealpostException>(() => store.Mail.OpenBlobAsync(delivered[0].BlobId))).Kind);
    }

    [Fact]
    public async Task A_mailbox_with_children_cannot_be_deleted()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var parent = await MailboxAsync(store, account.Id, "Parent");
        await MailboxAsync(store, account.Id, "Child", parent: parent.Id);

        var refused = await Assert.ThrowsAsync<SealpostException>(() => store.Mail.DeleteMailboxAsync(parent.Id));

        Assert.Equal(ErrorKind.Conflict, refused.Kind);
        Assert.NotNull(await store.Mail.GetMailboxAsync(parent.Id));
    }

    [Fact]
    public async Task Deleting_a_mailbox_releases_its_messages()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var folder = await MailboxAsync(store, account.Id, "Old");
        var result = await store.Mail.DeliverAsync(NewBlob.FromBytes("bye"u8.ToArray()), [To(folder.Id)]);
        await store.Mail.DeleteMailboxAsync(folder.Id);
        Assert.Null(await store.Mail.GetMailboxAsync(folder.Id));
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<SealpostException>(() => store.Mail.OpenBlobAsync(result[0].BlobId))).Kind);
        Assert.Equal(new QuotaUsage(0, 0), await store.Mail.GetUsageAsync(account.Id));
    }

    [Fact]
    public async Task Concurrent_appends_to_one_mailbox_get_unique_strictly_increasing_uids()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        const int Writers = 8, PerWriter = 40;
        var perWriter = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var seen = new List<(uint Uid, long ModSeq)>();
            for (var i = 0; i < PerWriter; i++)
            {
                var r = await store.Mail.DeliverAsync(NewBlob.FromBytes(Encoding.UTF8.GetBytes($"w{w} m{i}")), [To(inbox.Id)]);
                seen.Add((r[0].Uid, r[0].ModSeq));
            }

            return seen;
        })));

        // Each writer sees its own appends in strictly increasing order...
        foreach (var seen in perWriter)
        {
            Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.Uid < p.Second.Uid && p.First.ModSeq < p.Second.ModSeq));
        }

        // ...and together they used every UID exactly once.
        var all = perWriter.SelectMany(s => s.Select(x => x.Uid)).Order().ToList();
        Assert.Equal(Enumerable.Range(1, Writers * PerWriter).Select(i => (uint)i), all);
        var mailbox = (await store.Mail.GetMailboxAsync(inbox.Id))!;
        Assert.Equal((uint)(Writers * PerWriter + 1), mailbox.UidNext);
        Assert.Equal(Writers * PerWriter, mailbox.MessageCount);
    }

    [Fact]
    public async Task Concurrent_deliveries_to_a_deleted_mailbox_fail_alone()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        // A doomed mailbox whose id falls in the Inbox's delivery batch on PostgreSQL (batches are per id modulo 4).
        Mailbox doomed;
        var n = 0;
        do
        {
            doomed = await MailboxAsync(store, account.Id, "doomed" + n++);
        }
        while (doomed.Id % 4 != inbox.Id % 4);
        await store.Mail.DeleteMailboxAsync(doomed.Id);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            try
            {
                return (i, Uid: (await store.Mail.DeliverAsync(NewBlob.FromBytes(Encoding.UTF8.GetBytes($"m{i}")), [To(i % 3 == 0 ? doomed.Id : inbox.Id)]))[0].Uid, Error: (ErrorKind?)null);
            }
            catch (SealpostException ex)
            {
                return (i, Uid: 0u, Error: (ErrorKind?)ex.Kind);
            }
        })));

        Assert.All(outcomes.Where(o => o.i % 3 == 0), o => Assert.Equal(ErrorKind.NotFound, o.Error));
        var delivered = outcomes.Where(o => o.i % 3 != 0).ToList();
        Assert.All(delivered, o => Assert.Null(o.Error));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (uint)i), delivered.Select(o => o.Uid).Order());
        var messages = await store.Mail.ListMessagesAsync(inbox.Id, UidRange.All);
        Assert.Equal(40, messages.Count);
        Assert.Equal(40, (await store.Mail.GetMailboxAsync(inbox.Id))!.MessageCount);
        foreach (var m in messages)
        {
            Assert.Matches("^m[0-9]+$", await ReadBlobAsync(store, m.BlobId));
        }
    }

    [Fact]
    public async Task Two_handles_on_one_database_append_without_sharing_a_writer()
    {
        var store = await NewStoreAsync();
        var other = await _factory.OpenAgainAsync(store);
        var (account, _) = await AccountAsync(store);
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        var tasks = new[] { store, other }.SelectMany(s => Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var uids = new List<uint>();
            for (var i = 0; i < 15; i++)
            {
                uids.Add((await s.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [To(inbox.Id)]))[0].Uid);
            }

            return uids;
        })));
        var uids = (await Task.WhenAll(tasks)).SelectMany(u => u).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 120).Select(i => (uint)i), uids);
        Assert.Equal(120, (await other.Mail.ListMessagesAsync(inbox.Id, UidRange.All)).Count);
    }

    [Fact]
    public async Task Subscribers_are_notified_after_commit_and_not_after_unsubscribing()
    {
        var store = await NewStoreAsync();
        var (account, _) = await AccountAsync(store);
        var (other, _) = await AccountAsync(store, "other@example.test");
        var inbox = await MailboxAsync(store, account.Id, "INBOX", MailboxRole.Inbox);
        var otherInbox = await MailboxAsync(store, other.Id, "INBOX", MailboxRole.Inbox);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var subscription = store.Changes.Subscribe(account.Id);

        await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [To(otherInbox.Id)]); // not ours
        var appended = await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [To(inbox.Id)]);
        // PostgreSQL's NOTIFY arrives asynchronously: the creation of the mailbox, made before subscribing, may still come first.
        var first = await subscription.Reader.ReadAsync(cts.Token);
        while (first.Kinds == ChangeKinds.MailboxCreated)
        {
            first = await subscription.Reader.ReadAsync(cts.Token);
        }

        Assert.Equal(inbox.Id, first.MailboxId);
        Assert.Equal(appended[0].ModSeq, first.HighestModSeq);
        Assert.True(first.Kinds.HasFlag(ChangeKinds.Appended));
        // The notification means the change is visible to a reader now.
        Assert.NotNull(await store.Mail.GetMessageAsync(inbox.Id, appended[0].Uid));

        await store.Mail.ChangeFlagsAsync(inbox.Id, [1], new FlagChange(FlagOperation.Add, MessageFlags.Seen, []));
        Assert.True((await subscription.Reader.ReadAsync(cts.Token)).Kinds.HasFlag(ChangeKinds.FlagsChanged));
        await store.Mail.ExpungeAsync(inbox.Id, [1]);
        Assert.True((await subscription.Reader.ReadAsync(cts.Token)).Kinds.HasFlag(ChangeKinds.Expunged));

        subscription.Dispose();
        await store.Mail.DeliverAsync(NewBlob.FromBytes("x"u8.ToArray()), [To(inbox.Id)]);
        Assert.False(subscription.Reader.TryRead(out _));
    }
}

public sealed class SqliteStoreContractTests : StoreContractTests
{
    protected override IStoreFactory CreateFactory() => new SqliteStoreFactory();
}

public sealed class PostgresStoreContractTests : StoreContractTests
{
    protected override IStoreFactory CreateFactory() => new PostgresStoreFactory();
}
