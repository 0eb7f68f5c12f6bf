using System.Globalization;
using Sealpost.Core.Security;
using Microsoft.Data.Sqlite;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Storage;
using static Sealpost.Store.Sqlite.SqliteExtensions;

namespace Sealpost.Store.Sqlite;

internal sealed class SqliteDirectoryStore(SqliteStore store) : IDirectoryStore
{
    private const string AccountColumns = "id, domain_id, address, display_name, state, quota_bytes, roles, credential_version, created_at, state_changed_at, notify_address";

    public Task<Tenant> CreateTenantAsync(string name, string displayName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var now = Now();
            try
            {
                var id = ctx.Command("INSERT INTO tenants(name, display_name, created_at) VALUES ($n, $d, $t) RETURNING id")
                    .With("$n", name).With("$d", displayName).With("$t", now).Scalar();
                return new Tenant(id, name, displayName, Time(now));
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw SealpostException.Conflict($"tenant '{name}' already exists");
            }
        }, cancellationToken);

    public Task<Tenant?> FindTenantAsync(string name, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT id, name, display_name, created_at FROM tenants WHERE name = $n").With("$n", name).ReadOne(ReadTenant), cancellationToken);

    public Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Tenant>>(c => c.Sql("SELECT id, name, display_name, created_at FROM tenants ORDER BY name").ReadAll(ReadTenant), cancellationToken);

    public Task<MailDomain> AddDomainAsync(long tenantId, DomainName name, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var now = Now();
            try
            {
                var id = ctx.Command("INSERT INTO domains(tenant_id, name, created_at) VALUES ($t, $n, $c) RETURNING id")
                    .With("$t", tenantId).With("$n", name.Ascii).With("$c", now).Scalar();
                return new MailDomain(id, tenantId, name, Time(now));
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw SealpostException.Conflict($"domain '{name.Unicode}' already exists");
            }
        }, cancellationToken);

    public Task<MailDomain?> FindDomainAsync(DomainName name, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT id, tenant_id, name, created_at FROM domains WHERE name = $n").With("$n", name.Ascii).ReadOne(ReadDomain), cancellationToken);

    public Task<IReadOnlyList<MailDomain>> ListDomainsAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<MailDomain>>(c => c.Sql("SELECT id, tenant_id, name, created_at FROM domains ORDER BY name").ReadAll(ReadDomain), cancellationToken);

    public Task RemoveDomainAsync(long domainId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var used = ctx.Command("SELECT count(*) FROM addresses WHERE domain_id = $d").With("$d", domainId).Scalar();
            if (used > 0)
            {
                throw SealpostException.Conflict($"the domain still has {used} address(es); remove or delete them first");
            }

            if (ctx.Command("DELETE FROM domains WHERE id = $d").With("$d", domainId).ExecuteNonQuery() == 0)
            {
                throw SealpostException.NotFound("no such domain");
            }

            return 0;
        }, cancellationToken);

    public Task<Account> CreateAccountAsync(NewAccount account, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            ClaimAddress(ctx, account.Address, account.DomainId);
            var now = Now();
            var id = ctx.Command("""
                INSERT INTO accounts(domain_id, address, address_key, display_name, state, quota_bytes, roles, credential_version, created_at)
                VALUES ($d, $a, $k, $n, 0, $q, $r, 0, $t) RETURNING id
                """)
                .With("$d", account.DomainId).With("$a", account.Address.ToString()).With("$k", account.Address.Key)
                .With("$n", account.DisplayName).With("$q", account.QuotaBytes).With("$r", (int)account.Roles).With("$t", now).Scalar();
            ctx.Command("UPDATE addresses SET kind = 0, account_id = $id WHERE address_key = $k").With("$id", id).With("$k", account.Address.Key).ExecuteNonQuery();
            return new Account(id, account.DomainId, account.Address, account.DisplayName, AccountState.Active, account.QuotaBytes, account.Roles, 0, Time(now));
        }, cancellationToken);

    public Task<Account?> GetAccountAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {AccountColumns} FROM accounts WHERE id = $id").With("$id", accountId).ReadOne(ReadAccount), cancellationToken);

    public Task<Account?> FindAccountAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {AccountColumns} FROM accounts WHERE address_key = $k").With("$k", address.Key).ReadOne(ReadAccount), cancellationToken);

    public Task<IReadOnlyList<Account>> ListAccountsAsync(long? domainId = null, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Account>>(c =>
            c.Sql($"SELECT {AccountColumns} FROM accounts WHERE $d IS NULL OR domain_id = $d ORDER BY address_key").With("$d", domainId).ReadAll(ReadAccount),
            cancellationToken);

    public Task SetAccountRolesAsync(long accountId, AccountRoles roles, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            // Roles decide what a session may do: cached logins are invalidated as for a credential change.
            if (ctx.Command("UPDATE accounts SET roles = $r, credential_version = credential_version + 1 WHERE id = $id")
                    .With("$r", (int)roles).With("$id", accountId).ExecuteNonQuery() == 0)
            {
                throw SealpostException.NotFound("no such account");
            }

            ctx.Notifications.Add(AccountChanged(accountId));

            return 0;
        }, cancellationToken);

    public Task SetAccountStateAsync(long accountId, AccountState state, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            // A state change invalidates cached logins the same way a credential change does.
            if (ctx.Command("UPDATE accounts SET state = $s, state_changed_at = CASE WHEN state = $s THEN state_changed_at ELSE $t END, credential_version = credential_version + 1 WHERE id = $id")
                    .With("$s", (int)state).With("$t", Now()).With("$id", accountId).ExecuteNonQuery() == 0)
            {
                throw SealpostException.NotFound("no such account");
            }

            ctx.Notifications.Add(AccountChanged(accountId));

            return 0;
        }, cancellationToken);

    /// <summary>What open sessions of the account hear when its credential version moves.</summary>
    private static MailboxChanged AccountChanged(long accountId) => new(accountId, 0, 0, ChangeKinds.AccountChanged);

    public Task<IReadOnlyList<Credential>> ApplyKeyRingChangeAsync(KeyRingChange change, CancellationToken cancellationToken = default) =>
        store.WriteAsync<IReadOnlyList<Credential>>(ctx =>
        {
            var id = change.AccountId;
            if (ctx.Command("UPDATE accounts SET credential_version = credential_version + 1 WHERE id = $a").With("$a", id).ExecuteNonQuery() == 0)
            {
                throw SealpostException.NotFound("no such account");
            }

            ctx.Notifications.Add(AccountChanged(id));

            var now = Now();
            if (change.NewKey is { } key)
            {
                try
                {
                    ctx.Command("INSERT INTO account_keys(account_id, version, public_key, signature, created_at) VALUES ($a, $v, $p, $s, $t)")
                        .With("$a", id).With("$v", key.Version).With("$p", key.PublicKey).With("$s", key.Signature).With("$t", now).ExecuteNonQuery();
                }
                catch (SqliteException e) when (e.SqliteErrorCode == 19)
                {
                    throw SealpostException.Conflict($"key version {key.Version} already exists");
                }
            }

            if (change.RemoveAllCredentials)
            {
                ctx.Command("DELETE FROM credentials WHERE account_id = $a").With("$a", id).ExecuteNonQuery();
            }

            if (change.RemoveAllRecoveryWraps)
            {
                ctx.Command("DELETE FROM recovery_wraps WHERE account_id = $a").With("$a", id).ExecuteNonQuery();
            }

            foreach (var kind in change.RemoveCredentialKinds)
            {
                ctx.Command("DELETE FROM credentials WHERE account_id = $a AND kind = $k").With("$a", id).With("$k", (int)kind).ExecuteNonQuery();
            }

            foreach (var credentialId in change.RemoveCredentialIds)
            {
                ctx.Command("DELETE FROM credentials WHERE account_id = $a AND id = $c").With("$a", id).With("$c", credentialId).ExecuteNonQuery();
            }

            foreach (var version in change.RemoveCredentialWrapsOfKeyVersions)
            {
                ctx.Command("DELETE FROM credentials WHERE account_id = $a AND key_version = $v").With("$a", id).With("$v", version).ExecuteNonQuery();
            }

            var added = new List<Credential>();
            foreach (var c in change.AddCredentials)
            {
                var credentialId = ctx.Command("""
                    INSERT INTO credentials(account_id, kind, label, verifier, key_version, wrapped_key, created_at)
                    VALUES ($a, $k, $l, $v, $kv, $w, $t) RETURNING id
                    """).With("$a", id).With("$k", (int)c.Kind).With("$l", c.Label).With("$v", c.Verifier).With("$kv", c.KeyVersion)
                    .With("$w", c.WrappedKey).With("$t", now).Scalar();
                added.Add(new Credential(credentialId, id, c.Kind, c.Label, c.Verifier, c.KeyVersion, c.WrappedKey, Time(now)));
            }

            foreach (var w in change.AddRecoveryWraps)
            {
                ctx.Command("""
                    INSERT INTO recovery_wraps(account_id, key_version, recovery_key_version, wrapped_key) VALUES ($a, $v, $r, $w)
                    ON CONFLICT(account_id, key_version, recovery_key_version) DO UPDATE SET wrapped_key = excluded.wrapped_key
                    """).With("$a", id).With("$v", w.KeyVersion).With("$r", w.RecoveryKeyVersion).With("$w", w.WrappedKey).ExecuteNonQuery();
            }

            return added;
        }, cancellationToken);

    public Task<IReadOnlyList<Credential>> ListCredentialsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Credential>>(c =>
            c.Sql("SELECT id, account_id, kind, label, verifier, key_version, wrapped_key, created_at, last_used_at FROM credentials WHERE account_id = $a ORDER BY id").With("$a", accountId)
                .ReadAll(r => new Credential(r.GetInt64(0), r.GetInt64(1), (CredentialKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetInt32(5), r.GetFieldValue<byte[]>(6), Time(r.GetInt64(7)))
                {
                    LastUsedAt = r.IsDBNull(8) ? null : Time(r.GetInt64(8)),
                }),
            cancellationToken);

    public Task TouchCredentialAsync(long credentialId, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE credentials SET last_used_at = $t WHERE id = $id").With("$t", at.ToUnixTimeMilliseconds()).With("$id", credentialId).ExecuteNonQuery(), cancellationToken);

    public Task<bool> ReplaceAccountKeyProofAsync(long accountId, int version, byte[] expected, byte[] proof, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE account_keys SET signature = $p WHERE account_id = $a AND version = $v AND signature = $e")
            .With("$p", proof).With("$a", accountId).With("$v", version).With("$e", expected).ExecuteNonQuery() == 1, cancellationToken);

    public Task<IReadOnlyList<AccountKey>> ListAccountKeysAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<AccountKey>>(c =>
            c.Sql("SELECT account_id, version, public_key, signature, created_at FROM account_keys WHERE account_id = $a ORDER BY version").With("$a", accountId)
                .ReadAll(r => new AccountKey(r.GetInt64(0), r.GetInt32(1), r.GetFieldValue<byte[]>(2), r.GetFieldValue<byte[]>(3), Time(r.GetInt64(4)))),
            cancellationToken);

    public Task<IReadOnlyList<RecoveryWrap>> ListRecoveryWrapsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<RecoveryWrap>>(c =>
            c.Sql("SELECT account_id, key_version, recovery_key_version, wrapped_key FROM recovery_wraps WHERE account_id = $a ORDER BY key_version, recovery_key_version").With("$a", accountId)
                .ReadAll(r => new RecoveryWrap(r.GetInt64(0), r.GetInt32(1), r.GetInt32(2), r.GetFieldValue<byte[]>(3))),
            cancellationToken);

    public Task AddRecoveryKeyAsync(RecoveryKey key, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            try
            {
                ctx.Command("INSERT INTO recovery_keys(version, public_key, signature, created_at) VALUES ($v, $p, $s, $t)")
                    .With("$v", key.Version).With("$p", key.PublicKey).With("$s", key.Signature).With("$t", key.CreatedAt.ToUnixTimeMilliseconds()).ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw SealpostException.Conflict($"recovery key version {key.Version} already exists");
            }

            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<RecoveryKey>> ListRecoveryKeysAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<RecoveryKey>>(c =>
            c.Sql("SELECT version, public_key, signature, created_at FROM recovery_keys ORDER BY version")
                .ReadAll(r => new RecoveryKey(r.GetInt32(0), r.GetFieldValue<byte[]>(1), r.GetFieldValue<byte[]>(2), Time(r.GetInt64(3)))),
            cancellationToken);

    public Task<byte[]?> GetKeystoreEntryAsync(string name, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT sealed_value FROM keystore WHERE name = $n").With("$n", name).ExecuteScalar() as byte[], cancellationToken);

    public Task SetKeystoreEntryAsync(string name, byte[] sealedValue, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("INSERT INTO keystore(name, sealed_value) VALUES ($n, $v) ON CONFLICT(name) DO UPDATE SET sealed_value = excluded.sealed_value")
            .With("$n", name).With("$v", sealedValue).ExecuteNonQuery(), cancellationToken);

    public Task<bool> TryAddKeystoreEntryAsync(string name, byte[] sealedValue, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("INSERT INTO keystore(name, sealed_value) VALUES ($n, $v) ON CONFLICT(name) DO NOTHING")
            .With("$n", name).With("$v", sealedValue).ExecuteNonQuery() == 1, cancellationToken);

    public Task<AddressEntry?> ResolveAddressAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT address, kind, account_id, group_id, alias_target FROM addresses WHERE address_key = $k")
            .With("$k", address.Key).ReadOne(ReadAddress), cancellationToken);

    public Task AddAliasAsync(long domainId, MailAddress alias, MailAddress target, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            ClaimAddress(ctx, alias, domainId);
            ctx.Command("UPDATE addresses SET kind = 1, alias_target = $t WHERE address_key = $k").With("$t", target.ToString()).With("$k", alias.Key).ExecuteNonQuery();
            return 0;
        }, cancellationToken);

    public Task RemoveAliasAsync(MailAddress alias, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            if (ctx.Command("DELETE FROM addresses WHERE address_key = $k AND kind = 1").With("$k", alias.Key).ExecuteNonQuery() == 0)
            {
                throw SealpostException.NotFound($"no alias '{alias}'");
            }

            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<AddressEntry>> ListAliasesAsync(long? domainId = null, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<AddressEntry>>(c =>
            c.Sql("SELECT address, kind, account_id, group_id, alias_target FROM addresses WHERE kind = 1 AND ($d IS NULL OR domain_id = $d) ORDER BY address_key")
                .With("$d", domainId).ReadAll(ReadAddress),
            cancellationToken);

    public Task<DistributionGroup> CreateGroupAsync(long domainId, MailAddress address, string displayName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            ClaimAddress(ctx, address, domainId);
            var id = ctx.Command("INSERT INTO groups(domain_id, address, address_key, display_name) VALUES ($d, $a, $k, $n) RETURNING id")
                .With("$d", domainId).With("$a", address.ToString()).With("$k", address.Key).With("$n", displayName).Scalar();
            ctx.Command("UPDATE addresses SET kind = 2, group_id = $g WHERE address_key = $k").With("$g", id).With("$k", address.Key).ExecuteNonQuery();
            return new DistributionGroup(id, domainId, address, displayName);
        }, cancellationToken);

    public Task<DistributionGroup?> FindGroupAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT id, domain_id, address, display_name FROM groups WHERE address_key = $k").With("$k", address.Key).ReadOne(ReadGroup), cancellationToken);

    public Task<DistributionGroup?> GetGroupAsync(long groupId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT id, domain_id, address, display_name FROM groups WHERE id = $id").With("$id", groupId).ReadOne(ReadGroup), cancellationToken);

    public Task<IReadOnlyList<DistributionGroup>> ListGroupsAsync(long? domainId = null, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<DistributionGroup>>(c =>
            c.Sql("SELECT id, domain_id, address, display_name FROM groups WHERE $d IS NULL OR domain_id = $d ORDER BY address_key").With("$d", domainId).ReadAll(ReadGroup),
            cancellationToken);

    public Task AddGroupMemberAsync(long groupId, MailAddress member, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            try
            {
                ctx.Command("INSERT INTO group_members(group_id, member_key, member_address) VALUES ($g, $k, $a)")
                    .With("$g", groupId).With("$k", member.Key).With("$a", member.ToString()).ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw SealpostException.Conflict($"'{member}' is already a member");
            }

            return 0;
        }, cancellationToken);

    public Task RemoveGroupMemberAsync(long groupId, MailAddress member, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            if (ctx.Command("DELETE FROM group_members WHERE group_id = $g AND member_key = $k").With("$g", groupId).With("$k", member.Key).ExecuteNonQuery() == 0)
            {
                throw SealpostException.NotFound($"'{member}' is not a member");
            }

            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<MailAddress>> ListGroupMembersAsync(long groupId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<MailAddress>>(c =>
            c.Sql("SELECT member_address FROM group_members WHERE group_id = $g ORDER BY member_key").With("$g", groupId).ReadAll(r => MailAddress.Parse(r.GetString(0))),
            cancellationToken);

    public Task RecordLoginFailureAsync(string key, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("INSERT INTO login_failures(key, at) VALUES ($k, $t)").With("$k", key).With("$t", at.ToUnixTimeMilliseconds()).ExecuteNonQuery(), cancellationToken);

    public Task<int> CountLoginFailuresAsync(string key, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => Convert.ToInt32(c.Sql("SELECT count(*) FROM login_failures WHERE key = $k AND at >= $t")
            .With("$k", key).With("$t", since.ToUnixTimeMilliseconds()).ExecuteScalar(), CultureInfo.InvariantCulture), cancellationToken);

    public Task ClearLoginFailuresAsync(string key, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("DELETE FROM login_failures WHERE key = $k").With("$k", key).ExecuteNonQuery(), cancellationToken);

    public Task<IReadOnlyList<LoginFailureCount>> ListLoginFailuresAsync(DateTimeOffset since, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<LoginFailureCount>>(c => c.Sql("SELECT key, count(*), max(at) FROM login_failures WHERE at >= $t GROUP BY key ORDER BY key")
            .With("$t", since.ToUnixTimeMilliseconds()).ReadAll(r => new LoginFailureCount(r.GetString(0), r.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)))), cancellationToken);

    public Task<int> PruneLoginFailuresAsync(DateTimeOffset before, string? keepPrefix = null, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("DELETE FROM login_failures WHERE at < $t AND ($p IS NULL OR substr(key, 1, length($p)) <> $p)")
            .With("$t", before.ToUnixTimeMilliseconds()).With("$p", keepPrefix).ExecuteNonQuery(), cancellationToken);

    /// <summary>Takes an address in the shared namespace, or fails with a conflict naming what holds it.</summary>
    private static void ClaimAddress(WriteContext ctx, MailAddress address, long domainId)
    {
        var existing = ctx.Command("SELECT kind FROM addresses WHERE address_key = $k").With("$k", address.Key).ExecuteScalar();
        if (existing is not null)
        {
            var kind = (AddressKind)Convert.ToInt32(existing, System.Globalization.CultureInfo.InvariantCulture);
            throw SealpostException.Conflict($"'{address}' is already in use by {(kind switch { AddressKind.Account => "an account", AddressKind.Alias => "an alias", _ => "a group" })}");
        }

        ctx.Command("INSERT INTO addresses(address_key, address, domain_id, kind) VALUES ($k, $a, $d, 0)")
            .With("$k", address.Key).With("$a", address.ToString()).With("$d", domainId).ExecuteNonQuery();
    }

    public Task<IReadOnlyList<Account>> ListAccountsPageAsync(IReadOnlyCollection<long>? domainIds, string? afterKey, int limit, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Account>>(c =>
        {
            if (domainIds is { Count: 0 })
            {
                return [];
            }

            var filter = domainIds is null ? "" : $" AND domain_id IN ({string.Join(',', domainIds.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)))})";
            return c.Sql($"SELECT {AccountColumns} FROM accounts WHERE address_key > $after{filter} ORDER BY address_key LIMIT $n")
                .With("$after", afterKey ?? "").With("$n", limit).ReadAll(ReadAccount);
        }, cancellationToken);

    public Task SetNotifyAddressAsync(long accountId, string address, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE accounts SET notify_address = $n WHERE id = $id").With("$n", address).With("$id", accountId).ExecuteNonQuery() == 1
            ? true : throw SealpostException.NotFound("no such account"), cancellationToken);

    public Task<bool> UpdateAccountAsync(long accountId, string displayName, long quotaBytes, int expectedVersion, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE accounts SET display_name = $n, quota_bytes = $q, credential_version = credential_version + 1 WHERE id = $id AND credential_version = $v")
            .With("$n", displayName).With("$q", quotaBytes).With("$id", accountId).With("$v", expectedVersion).ExecuteNonQuery() == 1, cancellationToken);

    private const string ApiCredentialColumns = "id, account_id, kind, label, roles, second_factor, created_at, expires_at, last_used_at, revoked_at, domains";

    public Task<ApiCredential> CreateApiCredentialAsync(NewApiCredential credential, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            var id = ctx.Command("INSERT INTO api_credentials(account_id, kind, label, roles, second_factor, lookup_hash, created_at, expires_at, domains) VALUES ($a, $k, $l, $r, $s, $h, $c, $e, $d) RETURNING id")
                .With("$d", string.Join(' ', credential.Domains))
                .With("$a", credential.AccountId).With("$k", (int)credential.Kind).With("$l", credential.Label).With("$r", (int)credential.Roles)
                .With("$s", credential.SecondFactor ? 1 : 0).With("$h", credential.LookupHash).With("$c", now.ToUnixTimeMilliseconds())
                .With("$e", credential.ExpiresAt.ToUnixTimeMilliseconds()).Scalar();
            return new ApiCredential(id, credential.AccountId, credential.Kind, credential.Label, credential.Roles, credential.SecondFactor,
                Time(now.ToUnixTimeMilliseconds()), Time(credential.ExpiresAt.ToUnixTimeMilliseconds()), null, null)
            {
                Domains = credential.Domains,
            };
        }, cancellationToken);

    public Task<ApiCredential?> FindApiCredentialAsync(byte[] lookupHash, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {ApiCredentialColumns} FROM api_credentials WHERE lookup_hash = $h").With("$h", lookupHash).ReadOne(ReadApiCredential), cancellationToken);

    public Task<IReadOnlyList<ApiCredential>> ListApiCredentialsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<ApiCredential>>(c => c.Sql($"SELECT {ApiCredentialColumns} FROM api_credentials WHERE account_id = $a ORDER BY id")
            .With("$a", accountId).ReadAll(ReadApiCredential), cancellationToken);

    public Task<int> RevokeApiCredentialsAsync(long accountId, long? id, ApiCredentialKind? kind, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE api_credentials SET revoked_at = $t WHERE account_id = $a AND revoked_at IS NULL AND ($id IS NULL OR id = $id) AND ($k IS NULL OR kind = $k)")
            .With("$t", at.ToUnixTimeMilliseconds()).With("$a", accountId).With("$id", id).With("$k", kind is { } k ? (int)k : null).ExecuteNonQuery(), cancellationToken);

    public Task TouchApiCredentialAsync(long id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE api_credentials SET last_used_at = $t WHERE id = $id").With("$t", at.ToUnixTimeMilliseconds()).With("$id", id).ExecuteNonQuery(), cancellationToken);

    public Task<SecondFactor?> GetSecondFactorAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql("SELECT account_id, sealed_secret, confirmed, last_step, recovery_codes FROM second_factors WHERE account_id = $a")
            .With("$a", accountId).ReadOne(r => new SecondFactor(r.GetInt64(0), (byte[])r[1], r.GetInt64(2) != 0, r.GetInt64(3), r.GetString(4))), cancellationToken);

    public Task SetSecondFactorAsync(SecondFactor factor, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("""
                INSERT INTO second_factors(account_id, sealed_secret, confirmed, last_step, recovery_codes) VALUES ($a, $s, $c, $l, $r)
                ON CONFLICT(account_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, confirmed = excluded.confirmed, last_step = excluded.last_step, recovery_codes = excluded.recovery_codes
                """)
            .With("$a", factor.AccountId).With("$s", factor.SealedSecret).With("$c", factor.Confirmed ? 1 : 0).With("$l", factor.LastStep).With("$r", factor.RecoveryCodes)
            .ExecuteNonQuery(), cancellationToken);

    public Task RemoveSecondFactorAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("DELETE FROM second_factors WHERE account_id = $a").With("$a", accountId).ExecuteNonQuery(), cancellationToken);

    public Task<bool> AdvanceTotpStepAsync(long accountId, long step, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE second_factors SET last_step = $s WHERE account_id = $a AND last_step < $s")
            .With("$s", step).With("$a", accountId).ExecuteNonQuery() == 1, cancellationToken);

    public Task<bool> ReplaceRecoveryCodesAsync(long accountId, string expected, string replacement, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE second_factors SET recovery_codes = $r WHERE account_id = $a AND recovery_codes = $e")
            .With("$r", replacement).With("$a", accountId).With("$e", expected).ExecuteNonQuery() == 1, cancellationToken);

    private const string GrantColumns = "id, grantee_account_id, target_account_id, justification, requested_by, requested_at, not_before, expires_at, state, approvals, holder_version, wraps, ended_at";

    public Task AddAccessGrantAsync(AccessGrant grant, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx =>
        {
            try
            {
                ctx.Command($"INSERT INTO access_grants({GrantColumns}) VALUES ($id, $g, $t, $j, $rb, $ra, $nb, $ea, $s, $ap, $hv, $w, $end)")
                    .With("$id", grant.Id).With("$g", grant.GranteeAccountId).With("$t", grant.TargetAccountId).With("$j", grant.Justification)
                    .With("$rb", grant.RequestedBy).With("$ra", grant.RequestedAt.ToUnixTimeMilliseconds()).With("$nb", grant.NotBefore.ToUnixTimeMilliseconds())
                    .With("$ea", grant.ExpiresAt.ToUnixTimeMilliseconds()).With("$s", (int)grant.State).With("$ap", grant.Approvals).With("$hv", grant.HolderVersion)
                    .With("$w", grant.Wraps).With("$end", grant.EndedAt?.ToUnixTimeMilliseconds()).ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                throw SealpostException.Conflict($"access grant {grant.Id} already exists");
            }

            return true;
        }, cancellationToken);

    public Task<AccessGrant?> GetAccessGrantAsync(string id, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.Sql($"SELECT {GrantColumns} FROM access_grants WHERE id = $id").With("$id", id).ReadAll(ReadGrant).FirstOrDefault(), cancellationToken);

    public Task<IReadOnlyList<AccessGrant>> ListAccessGrantsAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<AccessGrant>>(c => c.Sql($"SELECT {GrantColumns} FROM access_grants ORDER BY requested_at, id").ReadAll(ReadGrant), cancellationToken);

    public Task<bool> ReplaceAccessGrantAsync(AccessGrant expected, AccessGrant updated, CancellationToken cancellationToken = default) =>
        store.WriteAsync(ctx => ctx.Command("UPDATE access_grants SET state = $s, approvals = $ap, holder_version = $hv, wraps = $w, ended_at = $end WHERE id = $id AND state = $es AND approvals = $eap")
            .With("$s", (int)updated.State).With("$ap", updated.Approvals).With("$hv", updated.HolderVersion).With("$w", updated.Wraps)
            .With("$end", updated.EndedAt?.ToUnixTimeMilliseconds()).With("$id", expected.Id).With("$es", (int)expected.State).With("$eap", expected.Approvals)
            .ExecuteNonQuery() == 1, cancellationToken);

    private static AccessGrant ReadGrant(SqliteDataReader r) => new(
        r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), Time(r.GetInt64(5)), Time(r.GetInt64(6)), Time(r.GetInt64(7)),
        (AccessGrantState)r.GetInt32(8), r.GetString(9), r.GetInt32(10), r.GetFieldValue<byte[]>(11), r.IsDBNull(12) ? null : Time(r.GetInt64(12)));

    private static ApiCredential ReadApiCredential(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), (ApiCredentialKind)r.GetInt32(2), r.GetString(3), (AccountRoles)r.GetInt32(4), r.GetInt64(5) != 0,
        Time(r.GetInt64(6)), Time(r.GetInt64(7)), r.IsDBNull(8) ? null : Time(r.GetInt64(8)), r.IsDBNull(9) ? null : Time(r.GetInt64(9)))
    {
        Domains = r.GetString(10).Split(' ', StringSplitOptions.RemoveEmptyEntries),
    };

    private static Tenant ReadTenant(SqliteDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), Time(r.GetInt64(3)));

    private static MailDomain ReadDomain(SqliteDataReader r) => new(r.GetInt64(0), r.GetInt64(1), DomainName.Parse(r.GetString(2)), Time(r.GetInt64(3)));

    private static Account ReadAccount(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), MailAddress.Parse(r.GetString(2)), r.GetString(3), (AccountState)r.GetInt32(4),
        r.GetInt64(5), (AccountRoles)r.GetInt32(6), r.GetInt32(7), Time(r.GetInt64(8)))
    {
        StateChangedAt = Time(r.GetInt64(9) == 0 ? r.GetInt64(8) : r.GetInt64(9)),
        NotifyAddress = r.GetString(10),
    };

    private static DistributionGroup ReadGroup(SqliteDataReader r) => new(r.GetInt64(0), r.GetInt64(1), MailAddress.Parse(r.GetString(2)), r.GetString(3));

    private static AddressEntry ReadAddress(SqliteDataReader r) => new(
        MailAddress.Parse(r.GetString(0)), (AddressKind)r.GetInt32(1),
        r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt64(3),
        r.IsDBNull(4) ? null : MailAddress.Parse(r.GetString(4)));
}
