using Sealpost.Core.Security;
using Npgsql;
using NpgsqlTypes;
using Sealpost.Core;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Storage;
using static Sealpost.Store.Postgres.Cx;

namespace Sealpost.Store.Postgres;

internal sealed class PostgresDirectoryStore(PostgresStore store) : IDirectoryStore
{
    private const string AccountColumns = "id, domain_id, address, display_name, state, quota_bytes, roles, credential_version, created_at, state_changed_at, notify_address";

    private static async Task<T> Unique<T>(Func<Task<T>> action, string conflict)
    {
        try
        {
            return await action();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw SealpostException.Conflict(conflict);
        }
    }

    public Task<Tenant> CreateTenantAsync(string name, string displayName, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => Unique(async () =>
        {
            var now = Now();
            var id = await c.Long("INSERT INTO tenants(name, display_name, created_at) VALUES ($1, $2, $3) RETURNING id", name, displayName, now);
            return new Tenant(id, name, displayName, Time(now));
        }, $"tenant '{name}' already exists"), cancellationToken);

    public Task<Tenant?> FindTenantAsync(string name, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One("SELECT id, name, display_name, created_at FROM tenants WHERE name = $1", ReadTenant, name), cancellationToken);

    public Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Tenant>>(async c => await c.All("SELECT id, name, display_name, created_at FROM tenants ORDER BY name", ReadTenant), cancellationToken);

    public Task<MailDomain> AddDomainAsync(long tenantId, DomainName name, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => Unique(async () =>
        {
            var now = Now();
            var id = await c.Long("INSERT INTO domains(tenant_id, name, created_at) VALUES ($1, $2, $3) RETURNING id", tenantId, name.Ascii, now);
            return new MailDomain(id, tenantId, name, Time(now));
        }, $"domain '{name.Unicode}' already exists"), cancellationToken);

    public Task<MailDomain?> FindDomainAsync(DomainName name, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One("SELECT id, tenant_id, name, created_at FROM domains WHERE name = $1", ReadDomain, name.Ascii), cancellationToken);

    public Task<IReadOnlyList<MailDomain>> ListDomainsAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<MailDomain>>(async c => await c.All("SELECT id, tenant_id, name, created_at FROM domains ORDER BY name", ReadDomain), cancellationToken);

    public Task RemoveDomainAsync(long domainId, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) =>
        {
            var used = await c.Long("SELECT count(*) FROM addresses WHERE domain_id = $1", domainId);
            if (used > 0)
            {
                throw SealpostException.Conflict($"the domain still has {used} address(es); remove or delete them first");
            }

            return await c.Execute("DELETE FROM domains WHERE id = $1", domainId) == 0 ? throw SealpostException.NotFound("no such domain") : 0;
        }, cancellationToken);

    public Task<Account> CreateAccountAsync(NewAccount account, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            await ClaimAddressAsync(c, account.Address, account.DomainId);
            var now = Now();
            var id = await c.Long("""
                INSERT INTO accounts(domain_id, address, address_key, display_name, state, quota_bytes, roles, credential_version, created_at)
                VALUES ($1, $2, $3, $4, 0, $5, $6, 0, $7) RETURNING id
                """, account.DomainId, account.Address.ToString(), account.Address.Key, account.DisplayName, account.QuotaBytes, (int)account.Roles, now);
            await c.Execute("UPDATE addresses SET kind = 0, account_id = $1 WHERE address_key = $2", id, account.Address.Key);
            return new Account(id, account.DomainId, account.Address, account.DisplayName, AccountState.Active, account.QuotaBytes, account.Roles, 0, Time(now));
        }, cancellationToken);

    public Task<Account?> GetAccountAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One($"SELECT {AccountColumns} FROM accounts WHERE id = $1", ReadAccount, accountId), cancellationToken);

    public Task<Account?> FindAccountAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One($"SELECT {AccountColumns} FROM accounts WHERE address_key = $1", ReadAccount, address.Key), cancellationToken);

    public Task<IReadOnlyList<Account>> ListAccountsAsync(long? domainId = null, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Account>>(async c => domainId is { } d
            ? await c.All($"SELECT {AccountColumns} FROM accounts WHERE domain_id = $1 ORDER BY address_key", ReadAccount, d)
            : await c.All($"SELECT {AccountColumns} FROM accounts ORDER BY address_key", ReadAccount), cancellationToken);

    /// <summary>What open sessions of the account hear, on every node, when its credential version moves.</summary>
    private static MailboxChanged AccountChanged(long accountId) => new(accountId, 0, 0, ChangeKinds.AccountChanged);

    public Task SetAccountRolesAsync(long accountId, AccountRoles roles, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, notes) =>
        {
            if (await c.Execute("UPDATE accounts SET roles = $1, credential_version = credential_version + 1 WHERE id = $2", (int)roles, accountId) == 0)
            {
                throw SealpostException.NotFound("no such account");
            }

            notes.Add(AccountChanged(accountId));
            return 0;
        }, cancellationToken);

    public Task SetAccountStateAsync(long accountId, AccountState state, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, notes) =>
        {
            if (await c.Execute("UPDATE accounts SET state = $1, state_changed_at = CASE WHEN state = $1 THEN state_changed_at ELSE $3 END, credential_version = credential_version + 1 WHERE id = $2",
                    (int)state, accountId, Now()) == 0)
            {
                throw SealpostException.NotFound("no such account");
            }

            notes.Add(AccountChanged(accountId));
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<Credential>> ApplyKeyRingChangeAsync(KeyRingChange change, CancellationToken cancellationToken = default) =>
        store.WriteAsync<IReadOnlyList<Credential>>(async (c, notes) =>
        {
            var id = change.AccountId;
            // The account row lock serialises key ring changes of one account across nodes.
            if (await c.Execute("UPDATE accounts SET credential_version = credential_version + 1 WHERE id = $1", id) == 0)
            {
                throw SealpostException.NotFound("no such account");
            }

            notes.Add(AccountChanged(id));

            var now = Now();
            if (change.NewKey is { } key)
            {
                await Unique(() => c.Execute("INSERT INTO account_keys(account_id, version, public_key, signature, created_at) VALUES ($1, $2, $3, $4, $5)",
                    id, key.Version, key.PublicKey, key.Signature, now), $"key version {key.Version} already exists");
            }

            if (change.RemoveAllCredentials)
            {
                await c.Execute("DELETE FROM credentials WHERE account_id = $1", id);
            }

            if (change.RemoveAllRecoveryWraps)
            {
                await c.Execute("DELETE FROM recovery_wraps WHERE account_id = $1", id);
            }

            foreach (var kind in change.RemoveCredentialKinds)
            {
                await c.Execute("DELETE FROM credentials WHERE account_id = $1 AND kind = $2", id, (int)kind);
            }

            foreach (var credentialId in change.RemoveCredentialIds)
            {
                await c.Execute("DELETE FROM credentials WHERE account_id = $1 AND id = $2", id, credentialId);
            }

            foreach (var version in change.RemoveCredentialWrapsOfKeyVersions)
            {
                await c.Execute("DELETE FROM credentials WHERE account_id = $1 AND key_version = $2", id, version);
            }

            var added = new List<Credential>();
            foreach (var n in change.AddCredentials)
            {
                var credentialId = await c.Long("""
                    INSERT INTO credentials(account_id, kind, label, verifier, key_version, wrapped_key, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                    """, id, (int)n.Kind, n.Label, n.Verifier, n.KeyVersion, n.WrappedKey, now);
                added.Add(new Credential(credentialId, id, n.Kind, n.Label, n.Verifier, n.KeyVersion, n.WrappedKey, Time(now)));
            }

            foreach (var w in change.AddRecoveryWraps)
            {
                await c.Execute("""
                    INSERT INTO recovery_wraps(account_id, key_version, recovery_key_version, wrapped_key) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (account_id, key_version, recovery_key_version) DO UPDATE SET wrapped_key = excluded.wrapped_key
                    """, id, w.KeyVersion, w.RecoveryKeyVersion, w.WrappedKey);
            }

            return added;
        }, cancellationToken);

    public Task<IReadOnlyList<Credential>> ListCredentialsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Credential>>(async c => await c.All(
            "SELECT id, account_id, kind, label, verifier, key_version, wrapped_key, created_at, last_used_at FROM credentials WHERE account_id = $1 ORDER BY id",
            r => new Credential(r.GetInt64(0), r.GetInt64(1), (CredentialKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetInt32(5), (byte[])r[6], Time(r.GetInt64(7)))
            {
                LastUsedAt = r.IsDBNull(8) ? null : Time(r.GetInt64(8)),
            }, accountId), cancellationToken);

    public Task TouchCredentialAsync(long credentialId, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => c.Execute("UPDATE credentials SET last_used_at = $1 WHERE id = $2", at.ToUnixTimeMilliseconds(), credentialId), cancellationToken);

    public Task<bool> ReplaceAccountKeyProofAsync(long accountId, int version, byte[] expected, byte[] proof, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("UPDATE account_keys SET signature = $1 WHERE account_id = $2 AND version = $3 AND signature = $4", proof, accountId, version, expected) == 1, cancellationToken);

    public Task<IReadOnlyList<AccountKey>> ListAccountKeysAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<AccountKey>>(async c => await c.All(
            "SELECT account_id, version, public_key, signature, created_at FROM account_keys WHERE account_id = $1 ORDER BY version",
            r => new AccountKey(r.GetInt64(0), r.GetInt32(1), (byte[])r[2], (byte[])r[3], Time(r.GetInt64(4))), accountId), cancellationToken);

    public Task<IReadOnlyList<RecoveryWrap>> ListRecoveryWrapsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<RecoveryWrap>>(async c => await c.All(
            "SELECT account_id, key_version, recovery_key_version, wrapped_key FROM recovery_wraps WHERE account_id = $1 ORDER BY key_version, recovery_key_version",
            r => new RecoveryWrap(r.GetInt64(0), r.GetInt32(1), r.GetInt32(2), (byte[])r[3]), accountId), cancellationToken);

    public Task AddRecoveryKeyAsync(RecoveryKey key, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => Unique(() => c.Execute("INSERT INTO recovery_keys(version, public_key, signature, created_at) VALUES ($1, $2, $3, $4)",
            key.Version, key.PublicKey, key.Signature, key.CreatedAt.ToUnixTimeMilliseconds()), $"recovery key version {key.Version} already exists"), cancellationToken);

    public Task<IReadOnlyList<RecoveryKey>> ListRecoveryKeysAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<RecoveryKey>>(async c => await c.All("SELECT version, public_key, signature, created_at FROM recovery_keys ORDER BY version",
            r => new RecoveryKey(r.GetInt32(0), (byte[])r[1], (byte[])r[2], Time(r.GetInt64(3)))), cancellationToken);

    public Task<byte[]?> GetKeystoreEntryAsync(string name, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async c => await c.Scalar("SELECT sealed_value FROM keystore WHERE name = $1", name) as byte[], cancellationToken);

    public Task<bool> TryAddKeystoreEntryAsync(string name, byte[] sealedValue, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("INSERT INTO keystore(name, sealed_value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, sealedValue) == 1, cancellationToken);

    public Task SetKeystoreEntryAsync(string name, byte[] sealedValue, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => c.Execute("INSERT INTO keystore(name, sealed_value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sealed_value = excluded.sealed_value", name, sealedValue), cancellationToken);

    public Task<AddressEntry?> ResolveAddressAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One("SELECT address, kind, account_id, group_id, alias_target FROM addresses WHERE address_key = $1", ReadAddress, address.Key), cancellationToken);

    public Task AddAliasAsync(long domainId, MailAddress alias, MailAddress target, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            await ClaimAddressAsync(c, alias, domainId);
            return await c.Execute("UPDATE addresses SET kind = 1, alias_target = $1 WHERE address_key = $2", target.ToString(), alias.Key);
        }, cancellationToken);

    public Task RemoveAliasAsync(MailAddress alias, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) =>
            await c.Execute("DELETE FROM addresses WHERE address_key = $1 AND kind = 1", alias.Key) == 0 ? throw SealpostException.NotFound($"no alias '{alias}'") : 0, cancellationToken);

    public Task<IReadOnlyList<AddressEntry>> ListAliasesAsync(long? domainId = null, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<AddressEntry>>(async c => domainId is { } d
            ? await c.All("SELECT address, kind, account_id, group_id, alias_target FROM addresses WHERE kind = 1 AND domain_id = $1 ORDER BY address_key", ReadAddress, d)
            : await c.All("SELECT address, kind, account_id, group_id, alias_target FROM addresses WHERE kind = 1 ORDER BY address_key", ReadAddress), cancellationToken);

    public Task<DistributionGroup> CreateGroupAsync(long domainId, MailAddress address, string displayName, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            await ClaimAddressAsync(c, address, domainId);
            var id = await c.Long("INSERT INTO groups(domain_id, address, address_key, display_name) VALUES ($1, $2, $3, $4) RETURNING id", domainId, address.ToString(), address.Key, displayName);
            await c.Execute("UPDATE addresses SET kind = 2, group_id = $1 WHERE address_key = $2", id, address.Key);
            return new DistributionGroup(id, domainId, address, displayName);
        }, cancellationToken);

    public Task<DistributionGroup?> FindGroupAsync(MailAddress address, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One("SELECT id, domain_id, address, display_name FROM groups WHERE address_key = $1", ReadGroup, address.Key), cancellationToken);

    public Task<DistributionGroup?> GetGroupAsync(long groupId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One("SELECT id, domain_id, address, display_name FROM groups WHERE id = $1", ReadGroup, groupId), cancellationToken);

    public Task<IReadOnlyList<DistributionGroup>> ListGroupsAsync(long? domainId = null, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<DistributionGroup>>(async c => domainId is { } d
            ? await c.All("SELECT id, domain_id, address, display_name FROM groups WHERE domain_id = $1 ORDER BY address_key", ReadGroup, d)
            : await c.All("SELECT id, domain_id, address, display_name FROM groups ORDER BY address_key", ReadGroup), cancellationToken);

    public Task AddGroupMemberAsync(long groupId, MailAddress member, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => Unique(() => c.Execute("INSERT INTO group_members(group_id, member_key, member_address) VALUES ($1, $2, $3)", groupId, member.Key, member.ToString()),
            $"'{member}' is already a member"), cancellationToken);

    public Task RemoveGroupMemberAsync(long groupId, MailAddress member, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) =>
            await c.Execute("DELETE FROM group_members WHERE group_id = $1 AND member_key = $2", groupId, member.Key) == 0 ? throw SealpostException.NotFound($"'{member}' is not a member") : 0, cancellationToken);

    public Task<IReadOnlyList<MailAddress>> ListGroupMembersAsync(long groupId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<MailAddress>>(async c => await c.All("SELECT member_address FROM group_members WHERE group_id = $1 ORDER BY member_key", r => MailAddress.Parse(r.GetString(0)), groupId), cancellationToken);

    public Task RecordLoginFailureAsync(string key, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) => await c.Execute("INSERT INTO login_failures(key, at) VALUES ($1, $2)", key, at.ToUnixTimeMilliseconds()), cancellationToken);

    public Task<int> CountLoginFailuresAsync(string key, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async c => (int)await c.Long("SELECT count(*) FROM login_failures WHERE key = $1 AND at >= $2", key, since.ToUnixTimeMilliseconds()), cancellationToken);

    public Task ClearLoginFailuresAsync(string key, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) => await c.Execute("DELETE FROM login_failures WHERE key = $1", key), cancellationToken);

    public Task<IReadOnlyList<LoginFailureCount>> ListLoginFailuresAsync(DateTimeOffset since, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<LoginFailureCount>>(async c => await c.All("SELECT key, count(*)::int, max(at) FROM login_failures WHERE at >= $1 GROUP BY key ORDER BY key",
            r => new LoginFailureCount(r.GetString(0), r.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))), since.ToUnixTimeMilliseconds()), cancellationToken);

    public Task<int> PruneLoginFailuresAsync(DateTimeOffset before, string? keepPrefix = null, CancellationToken cancellationToken = default) =>
        store.WriteAsync<int>(async (c, _) => await c.Execute("DELETE FROM login_failures WHERE at < $1 AND ($2::text IS NULL OR left(key, length($2)) <> $2)",
            before.ToUnixTimeMilliseconds(), keepPrefix is null ? Null(NpgsqlDbType.Text) : keepPrefix), cancellationToken);

    private static async Task ClaimAddressAsync(Cx c, MailAddress address, long domainId)
    {
        var existing = await c.Scalar("SELECT kind FROM addresses WHERE address_key = $1 FOR UPDATE", address.Key);
        if (existing is int kind)
        {
            throw SealpostException.Conflict($"'{address}' is already in use by {((AddressKind)kind switch { AddressKind.Account => "an account", AddressKind.Alias => "an alias", _ => "a group" })}");
        }

        await Unique(() => c.Execute("INSERT INTO addresses(address_key, address, domain_id, kind) VALUES ($1, $2, $3, 0)", address.Key, address.ToString(), domainId), $"'{address}' is already in use");
    }

    private static Tenant ReadTenant(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), Time(r.GetInt64(3)));

    private static MailDomain ReadDomain(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetInt64(1), DomainName.Parse(r.GetString(2)), Time(r.GetInt64(3)));

    public Task<IReadOnlyList<Account>> ListAccountsPageAsync(IReadOnlyCollection<long>? domainIds, string? afterKey, int limit, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<Account>>(async c => domainIds is null
            ? await c.All($"SELECT {AccountColumns} FROM accounts WHERE address_key > $1 ORDER BY address_key LIMIT $2", ReadAccount, afterKey ?? "", limit)
            : await c.All($"SELECT {AccountColumns} FROM accounts WHERE address_key > $1 AND domain_id = ANY($3) ORDER BY address_key LIMIT $2", ReadAccount, afterKey ?? "", limit, domainIds.ToArray()),
            cancellationToken);

    public Task SetNotifyAddressAsync(long accountId, string address, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("UPDATE accounts SET notify_address = $1 WHERE id = $2", address, accountId) == 1
            ? true : throw SealpostException.NotFound("no such account"), cancellationToken);

    public Task<bool> UpdateAccountAsync(long accountId, string displayName, long quotaBytes, int expectedVersion, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute(
            "UPDATE accounts SET display_name = $1, quota_bytes = $2, credential_version = credential_version + 1 WHERE id = $3 AND credential_version = $4",
            displayName, quotaBytes, accountId, expectedVersion) == 1, cancellationToken);

    private const string ApiCredentialColumns = "id, account_id, kind, label, roles, second_factor, created_at, expires_at, last_used_at, revoked_at, domains";

    public Task<ApiCredential> CreateApiCredentialAsync(NewApiCredential credential, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) =>
        {
            var id = await c.Long(
                "INSERT INTO api_credentials(account_id, kind, label, roles, second_factor, lookup_hash, created_at, expires_at, domains) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                credential.AccountId, (int)credential.Kind, credential.Label, (int)credential.Roles, credential.SecondFactor, credential.LookupHash,
                now.ToUnixTimeMilliseconds(), credential.ExpiresAt.ToUnixTimeMilliseconds(), string.Join(' ', credential.Domains));
            return new ApiCredential(id, credential.AccountId, credential.Kind, credential.Label, credential.Roles, credential.SecondFactor,
                Time(now.ToUnixTimeMilliseconds()), Time(credential.ExpiresAt.ToUnixTimeMilliseconds()), null, null)
            {
                Domains = credential.Domains,
            };
        }, cancellationToken);

    public Task<ApiCredential?> FindApiCredentialAsync(byte[] lookupHash, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One($"SELECT {ApiCredentialColumns} FROM api_credentials WHERE lookup_hash = $1", ReadApiCredential, lookupHash), cancellationToken);

    public Task<IReadOnlyList<ApiCredential>> ListApiCredentialsAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<ApiCredential>>(async c => await c.All($"SELECT {ApiCredentialColumns} FROM api_credentials WHERE account_id = $1 ORDER BY id", ReadApiCredential, accountId), cancellationToken);

    public Task<int> RevokeApiCredentialsAsync(long accountId, long? id, ApiCredentialKind? kind, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => c.Execute(
            "UPDATE api_credentials SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL AND ($3::bigint IS NULL OR id = $3) AND ($4::int IS NULL OR kind = $4)",
            at.ToUnixTimeMilliseconds(), accountId, id is { } i ? i : Null(NpgsqlDbType.Bigint), kind is { } k ? (int)k : Null(NpgsqlDbType.Integer)), cancellationToken);

    public Task TouchApiCredentialAsync(long id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => c.Execute("UPDATE api_credentials SET last_used_at = $1 WHERE id = $2", at.ToUnixTimeMilliseconds(), id), cancellationToken);

    public Task<SecondFactor?> GetSecondFactorAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.ReadAsync(c => c.One("SELECT account_id, sealed_secret, confirmed, last_step, recovery_codes FROM second_factors WHERE account_id = $1",
            r => new SecondFactor(r.GetInt64(0), (byte[])r[1], r.GetBoolean(2), r.GetInt64(3), r.GetString(4)), accountId), cancellationToken);

    public Task SetSecondFactorAsync(SecondFactor factor, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => c.Execute("""
            INSERT INTO second_factors(account_id, sealed_secret, confirmed, last_step, recovery_codes) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (account_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, confirmed = excluded.confirmed, last_step = excluded.last_step, recovery_codes = excluded.recovery_codes
            """, factor.AccountId, factor.SealedSecret, factor.Confirmed, factor.LastStep, factor.RecoveryCodes), cancellationToken);

    public Task RemoveSecondFactorAsync(long accountId, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => c.Execute("DELETE FROM second_factors WHERE account_id = $1", accountId), cancellationToken);

    public Task<bool> AdvanceTotpStepAsync(long accountId, long step, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("UPDATE second_factors SET last_step = $1 WHERE account_id = $2 AND last_step < $1", step, accountId) == 1, cancellationToken);

    public Task<bool> ReplaceRecoveryCodesAsync(long accountId, string expected, string replacement, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("UPDATE second_factors SET recovery_codes = $1 WHERE account_id = $2 AND recovery_codes = $3", replacement, accountId, expected) == 1, cancellationToken);

    private const string GrantColumns = "id, grantee_account_id, target_account_id, justification, requested_by, requested_at, not_before, expires_at, state, approvals, holder_version, wraps, ended_at";

    public Task AddAccessGrantAsync(AccessGrant grant, CancellationToken cancellationToken = default) =>
        store.WriteAsync((c, _) => Unique(() => c.Execute($"INSERT INTO access_grants({GrantColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            grant.Id, grant.GranteeAccountId, grant.TargetAccountId, grant.Justification, grant.RequestedBy, grant.RequestedAt.ToUnixTimeMilliseconds(),
            grant.NotBefore.ToUnixTimeMilliseconds(), grant.ExpiresAt.ToUnixTimeMilliseconds(), (int)grant.State, grant.Approvals, grant.HolderVersion, grant.Wraps,
            grant.EndedAt is { } ended ? (object)ended.ToUnixTimeMilliseconds() : Null(NpgsqlDbType.Bigint)), $"access grant {grant.Id} already exists"), cancellationToken);

    public Task<AccessGrant?> GetAccessGrantAsync(string id, CancellationToken cancellationToken = default) =>
        store.ReadAsync(async c => await c.One($"SELECT {GrantColumns} FROM access_grants WHERE id = $1", ReadGrant, id), cancellationToken);

    public Task<IReadOnlyList<AccessGrant>> ListAccessGrantsAsync(CancellationToken cancellationToken = default) =>
        store.ReadAsync<IReadOnlyList<AccessGrant>>(async c => await c.All($"SELECT {GrantColumns} FROM access_grants ORDER BY requested_at, id", ReadGrant), cancellationToken);

    public Task<bool> ReplaceAccessGrantAsync(AccessGrant expected, AccessGrant updated, CancellationToken cancellationToken = default) =>
        store.WriteAsync(async (c, _) => await c.Execute("UPDATE access_grants SET state = $1, approvals = $2, holder_version = $3, wraps = $4, ended_at = $5 WHERE id = $6 AND state = $7 AND approvals = $8",
            (int)updated.State, updated.Approvals, updated.HolderVersion, updated.Wraps,
            updated.EndedAt is { } ended ? (object)ended.ToUnixTimeMilliseconds() : Null(NpgsqlDbType.Bigint), expected.Id, (int)expected.State, expected.Approvals) == 1, cancellationToken);

    private static AccessGrant ReadGrant(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), Time(r.GetInt64(5)), Time(r.GetInt64(6)), Time(r.GetInt64(7)),
        (AccessGrantState)r.GetInt32(8), r.GetString(9), r.GetInt32(10), (byte[])r[11], r.IsDBNull(12) ? null : Time(r.GetInt64(12)));

    private static ApiCredential ReadApiCredential(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), (ApiCredentialKind)r.GetInt32(2), r.GetString(3), (AccountRoles)r.GetInt32(4), r.GetBoolean(5),
        Time(r.GetInt64(6)), Time(r.GetInt64(7)), r.IsDBNull(8) ? null : Time(r.GetInt64(8)), r.IsDBNull(9) ? null : Time(r.GetInt64(9)))
    {
        Domains = r.GetString(10).Split(' ', StringSplitOptions.RemoveEmptyEntries),
    };

    private static Account ReadAccount(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), MailAddress.Parse(r.GetString(2)), r.GetString(3), (AccountState)r.GetInt32(4),
        r.GetInt64(5), (AccountRoles)r.GetInt32(6), r.GetInt32(7), Time(r.GetInt64(8)))
    {
        StateChangedAt = Time(r.GetInt64(9) == 0 ? r.GetInt64(8) : r.GetInt64(9)),
        NotifyAddress = r.GetString(10),
    };

    private static DistributionGroup ReadGroup(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetInt64(1), MailAddress.Parse(r.GetString(2)), r.GetString(3));

    private static AddressEntry ReadAddress(NpgsqlDataReader r) => new(
        MailAddress.Parse(r.GetString(0)), (AddressKind)r.GetInt32(1),
        r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt64(3),
        r.IsDBNull(4) ? null : MailAddress.Parse(r.GetString(4)));
}
