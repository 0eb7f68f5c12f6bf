using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Configuration;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// Account key rings (ARCHITECTURE §3). Each account has X25519 key pairs (versions); the current
/// one receives mail. A private key is stored only wrapped: once per credential (AES-256-GCM under
/// a key derived from the credential) and once to the recovery public key (HPKE). Each version
/// carries a proof (<see cref="KeyVersionProof"/>): signed by the version before it where its owner
/// made it, otherwise waiting for two people of the trust anchor (<see cref="KeyTrust"/>). At login
/// the unwrapped private key must match its stored public key.
/// </summary>
public sealed class AccountVault : IAccountVault, IDisposable
{
    private static readonly byte[] WrapLabel = "sealpost/account-key-wrap/v1\0"u8.ToArray();
    private static readonly byte[] RecoveryInfo = "sealpost/recovery/v1"u8.ToArray();
    private static readonly Hpke Hpke = new();

    private readonly ISealpostStore _store;
    private readonly KeyTrust _trust;
    private readonly CredentialKdf _kdf;
    private readonly VaultOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, CachedLogin> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<bool>>> _unlocking = new(StringComparer.Ordinal);
    private readonly byte[] _cacheKey = RandomNumberGenerator.GetBytes(32);

    // Unlocked private keys leave memory when their cache entry expires, not only at a later hit: a sweep
    // zeroes entries expired for longer than the grace (so a hit that passed its expiry check just before
    // never clones keys being zeroed).
    private static readonly TimeSpan SweepGrace = TimeSpan.FromSeconds(5);
    private readonly Timer? _sweep;

    public AccountVault(ISealpostStore store, KeyTrust trust, CredentialKdf kdf, VaultOptions options, ILogger<AccountVault> logger)
    {
        _store = store;
        _trust = trust;
        _kdf = kdf;
        _options = options;
        _logger = logger;
        if (options.LoginCacheSeconds > 0)
        {
            var period = TimeSpan.FromSeconds(Math.Min(options.LoginCacheSeconds, 30));
            _sweep = new Timer(_ => SweepExpired(), null, period, period);
        }
    }

    /// <summary>Logins held unlocked in memory right now.</summary>
    internal int CachedLogins => _cache.Count;

    private void SweepExpired()
    {
        var cutoff = DateTimeOffset.UtcNow - SweepGrace;
        foreach (var key in _cache.Where(e => e.Value.Expires <= cutoff).Select(e => e.Key).ToList())
        {
            Evict(key);
        }
    }

    /// <summary>Stops the sweep and zeroes every cached key.</summary>
    public void Dispose()
    {
        _sweep?.Dispose();
        foreach (var key in _cache.Keys.ToList())
        {
            Evict(key);
        }
    }

    private IDirectoryStore Dir => _store.Directory;

    public async Task<IAccountSession> ProvisionAsync(Account account, string password, CancellationToken ct = default)
    {
        var (verifier, keys) = _kdf.NewPassword(password);
        using (keys)
        {
            return await ProvisionFirstKeyAsync(account, CredentialKind.ProvisionalPassword, "password", verifier, keys, "new account", ct);
        }
    }

    /// <summary>Key version 1 of a new account, wrapped under one credential's keys and to recovery.</summary>
    private async Task<IAccountSession> ProvisionFirstKeyAsync(Account account, CredentialKind kind, string label, string verifier, CredentialKeys keys, string reason, CancellationToken ct)
    {
        var (privateKey, publicKey) = Hpke.GenerateKeyPair();
        using var material = AccountKeyMaterial.From(1, privateKey);
        await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
        {
            NewKey = NewKeyVersion(account.Id, 1, publicKey, privateKey, null),
            AddCredentials = [new NewCredential(kind, label, verifier, 1, WrapPrivateKey(keys.WrapKey, account.Id, 1, privateKey))],
            AddRecoveryWraps = await RecoveryWrapsAsync(account.Id, 1, privateKey, ct),
        }, ct);
        CryptographicOperations.ZeroMemory(privateKey);
        VaultLog.KeyCreated(_logger, account.Id, 1, reason);
        return new AccountSession(account.Id, [material.Clone()]);
    }

    public async Task<(IAccountSession Session, string Token, DateTimeOffset ExpiresAt)> ProvisionForEnrolmentAsync(Account account, CancellationToken ct = default)
    {
        var (token, verifier, keys) = CredentialKdf.NewEnrolmentToken();
        var expires = DateTimeOffset.UtcNow.AddHours(_options.EnrolmentTokenHours);
        using (keys)
        {
            return (await ProvisionFirstKeyAsync(account, CredentialKind.EnrolmentToken, "enrolment", verifier, keys, "new account awaiting enrolment", ct), token, expires);
        }
    }

    public async Task<EnrolmentResult> RedeemEnrolmentAsync(Account account, string token, string newPassword, string from, CancellationToken ct = default)
    {
        var credentials = await Dir.ListCredentialsAsync(account.Id, ct);
        foreach (var spent in credentials.Where(c => c.Kind == CredentialKind.EnrolmentRedeemed))
        {
            using var match = CredentialKdf.VerifyEnrolmentToken(token, spent.Verifier);
            if (match is not null)
            {
                return new EnrolmentResult(EnrolmentOutcome.AlreadyUsed, ParseRedemption(spent));
            }
        }

        var publicKeys = (await Dir.ListAccountKeysAsync(account.Id, ct)).ToDictionary(k => k.Version);
        foreach (var live in credentials.Where(c => c.Kind == CredentialKind.EnrolmentToken))
        {
            using var keys = CredentialKdf.VerifyEnrolmentToken(token, live.Verifier);
            if (keys is null)
            {
                continue;
            }

            if (live.CreatedAt.AddHours(_options.EnrolmentTokenHours) <= DateTimeOffset.UtcNow)
            {
                return new EnrolmentResult(EnrolmentOutcome.Expired);
            }

            if (OpenEnrolmentWrap(live, keys) is not { } privateKey)
            {
                VaultLog.PrivateKeyMismatch(_logger, account.Id, live.KeyVersion);
                return new EnrolmentResult(EnrolmentOutcome.Wrong);
            }

            if (!publicKeys.TryGetValue(live.KeyVersion, out var publicKey)
                || !CryptographicOperations.FixedTimeEquals(Hpke.PublicKeyOf(privateKey), publicKey.PublicKey))
            {
                VaultLog.PrivateKeyMismatch(_logger, account.Id, live.KeyVersion);
                CryptographicOperations.ZeroMemory(privateKey);
                return new EnrolmentResult(EnrolmentOutcome.Wrong);
            }

            // Whoever saw the token can unwrap version 1 from any copy of the database: the owner's
            // password wraps only a new version, and everything moves to it.
            using (var old = new AccountSession(account.Id, [AccountKeyMaterial.From(live.KeyVersion, privateKey)]))
            {
                CryptographicOperations.ZeroMemory(privateKey);
                await RotateAsync(account, old, newPassword, CredentialKind.Password, "enrolment", ct);
            }

            var record = new EnrolmentRecord(DateTimeOffset.UtcNow, from);
            await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
            {
                RemoveCredentialIds = credentials.Where(c => c.Kind == CredentialKind.EnrolmentToken).Select(c => c.Id).ToList(),
                AddCredentials = [new NewCredential(CredentialKind.EnrolmentRedeemed, RedemptionLabel(record), live.Verifier, 0, [])],
            }, ct);
            return new EnrolmentResult(EnrolmentOutcome.Enrolled, record);
        }

        return new EnrolmentResult(EnrolmentOutcome.Wrong);
    }

    /// <summary>The private key an enrolment token's wrap holds, or null (what a token's holder can get, and all).</summary>
    internal static byte[]? OpenEnrolmentWrap(Credential token, CredentialKeys keys)
    {
        try
        {
            return Aead.Open(keys.WrapKey, token.WrappedKey, Aead.Context(WrapLabel, token.AccountId, token.KeyVersion));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    public async Task<EnrolmentRecord?> GetEnrolmentAsync(Account account, CancellationToken ct = default) =>
        (await Dir.ListCredentialsAsync(account.Id, ct)).Where(c => c.Kind == CredentialKind.EnrolmentRedeemed).Select(ParseRedemption).FirstOrDefault();

    // "redeemed <ISO 8601> from <address>": the label of a spent token.
    private static string RedemptionLabel(EnrolmentRecord record) =>
        $"redeemed {record.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture)} from {record.From}";

    private static EnrolmentRecord ParseRedemption(Credential spent)
    {
        var parts = spent.Label.Split(' ', 4);
        return parts.Length == 4 && DateTimeOffset.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at)
            ? new EnrolmentRecord(at, parts[3])
            : new EnrolmentRecord(spent.CreatedAt, "unknown");
    }

    /// <summary>The password hashing this vault does (its gauges: runs, peak concurrency).</summary>
    public CredentialKdf Kdf => _kdf;

    public async Task<IAccountSession?> UnlockAsync(Account account, string secret, CancellationToken ct = default)
    {
        var cacheKey = _options.LoginCacheSeconds > 0 ? CacheKey(account.Id, secret) : null;
        if (cacheKey is null || account.State != AccountState.Active)
        {
            var (materials, used) = await UnlockCredentialsAsync(account, secret, false, ct);
            return materials.Count == 0 ? null : new AccountSession(account.Id, materials) { AfterReset = used.Any(IsResetPassword) };
        }

        if (FromCache(account, cacheKey) is { } hit)
        {
            return hit;
        }

        // Mail clients open several connections at once with the same password: one Argon2id for all
        // of them. The first unlocks into the cache; the others wait for it and read the cache.
        var flight = _unlocking.GetOrAdd(cacheKey, key => new Lazy<Task<bool>>(() => UnlockIntoCacheAsync(account, secret, key)));
        if (!await flight.Value.WaitAsync(ct))
        {
            return null; // the same secret, so the same answer: wrong
        }

        if (FromCache(account, cacheKey) is { } unlocked)
        {
            return unlocked;
        }

        // Evicted already (a full cache) or the account changed meanwhile: unlock for this caller alone.
        var (own, ownUsed) = await UnlockCredentialsAsync(account, secret, false, ct);
        return own.Count == 0 ? null : new AccountSession(account.Id, own) { AfterReset = ownUsed.Any(IsResetPassword) };
    }

    private AccountSession? FromCache(Account account, string cacheKey)
    {
        if (!_cache.TryGetValue(cacheKey, out var cached))
        {
            return null;
        }

        // Every hit re-checks what may have changed since: credentials and account state.
        if (cached.Expires > DateTimeOffset.UtcNow && cached.CredentialVersion == account.CredentialVersion && account.State == AccountState.Active)
        {
            return new AccountSession(account.Id, cached.Keys.Select(k => k.Clone())) { AfterReset = cached.AfterReset };
        }

        Evict(cacheKey);
        return null;
    }

    // Not cancelled by any one caller: others may be waiting for it. It leaves the in-flight table
    // when done, so an answer is never reused for a later attempt (the password may change).
    private async Task<bool> UnlockIntoCacheAsync(Account account, string secret, string cacheKey)
    {
        try
        {
            return await UnlockIntoCacheCoreAsync(account, secret, cacheKey);
        }
        finally
        {
            _unlocking.TryRemove(cacheKey, out _);
        }
    }

    private async Task<bool> UnlockIntoCacheCoreAsync(Account account, string secret, string cacheKey)
    {
        if (_cache.TryGetValue(cacheKey, out var done) && done.Expires > DateTimeOffset.UtcNow && done.CredentialVersion == account.CredentialVersion)
        {
            return true; // a flight that ended just before this one began already did the work
        }

        var (materials, used) = await UnlockCredentialsAsync(account, secret, false, CancellationToken.None);
        if (materials.Count == 0)
        {
            return false;
        }

        if (_cache.Count >= _options.LoginCacheMaxEntries)
        {
            foreach (var key in _cache.Where(e => e.Value.Expires <= DateTimeOffset.UtcNow).Select(e => e.Key).ToList())
            {
                Evict(key);
            }

            if (_cache.Count >= _options.LoginCacheMaxEntries)
            {
                Evict(_cache.Keys.First());
            }
        }

        var entry = new CachedLogin(account.CredentialVersion, DateTimeOffset.UtcNow.AddSeconds(_options.LoginCacheSeconds), materials, used.Any(IsResetPassword));
        if (!_cache.TryAdd(cacheKey, entry))
        {
            entry.Dispose();
        }

        return true;
    }

    /// <summary>The label of the provisional password a reset sets: its owner is told at login, until they replace it.</summary>
    private const string ResetLabel = "reset";

    private static bool IsResetPassword(Credential c) => c.Kind == CredentialKind.ProvisionalPassword && c.Label == ResetLabel;

    private static bool IsPassword(CredentialKind kind) => kind is CredentialKind.Password or CredentialKind.ProvisionalPassword;

    /// <summary>Every key version <paramref name="secret"/> unlocks (each checked against its stored public key), and the credentials that did.</summary>
    private async Task<(List<AccountKeyMaterial> Keys, List<Credential> Used)> UnlockCredentialsAsync(Account account, string secret, bool passwordsOnly, CancellationToken ct)
    {
        var credentials = await Dir.ListCredentialsAsync(account.Id, ct);
        var publicKeys = (await Dir.ListAccountKeysAsync(account.Id, ct)).ToDictionary(k => k.Version);
        var appFirst = CredentialKdf.LooksLikeAppPassword(secret);
        var ordered = credentials
            .Where(c => c.Kind is CredentialKind.Password or CredentialKind.ProvisionalPassword or CredentialKind.AppPassword) // an enrolment token is never a login secret
            .Where(c => !passwordsOnly || IsPassword(c.Kind))
            .Where(c => appFirst || IsPassword(c.Kind)) // a password never matches an app-password verifier: skip the work
            .OrderBy(c => appFirst == (c.Kind == CredentialKind.AppPassword) ? 0 : 1);
        var result = new List<AccountKeyMaterial>();
        var used = new List<Credential>();
        foreach (var credential in ordered)
        {
            if (result.Any(m => m.Version == credential.KeyVersion))
            {
                continue;
            }

            using var keys = await _kdf.VerifyAsync(secret, credential.Verifier, ct);
            if (keys is null)
            {
                continue;
            }

            byte[] privateKey;
            try
            {
                privateKey = Aead.Open(keys.WrapKey, credential.WrappedKey, Aead.Context(WrapLabel, account.Id, credential.KeyVersion));
            }
            catch (CryptographicException)
            {
                VaultLog.PrivateKeyMismatch(_logger, account.Id, credential.KeyVersion);
                continue;
            }

            if (!publicKeys.TryGetValue(credential.KeyVersion, out var publicKey)
                || !CryptographicOperations.FixedTimeEquals(Hpke.PublicKeyOf(privateKey), publicKey.PublicKey))
            {
                VaultLog.PrivateKeyMismatch(_logger, account.Id, credential.KeyVersion);
                CryptographicOperations.ZeroMemory(privateKey);
                continue;
            }

            result.Add(AccountKeyMaterial.From(credential.KeyVersion, privateKey));
            used.Add(credential);
            CryptographicOperations.ZeroMemory(privateKey);
            await NoteUseAsync(credential, ct);
        }

        OpenRecoveredKeys(account.Id, credentials, publicKeys, result);
        return (result, used);
    }

    /// <summary>
    /// Adds the key versions the officers' recovery handed back to a version just unlocked (old mail
    /// after a reset): each is opened with that version's private key and checked against its public key.
    /// </summary>
    private void OpenRecoveredKeys(long accountId, IReadOnlyList<Credential> credentials, Dictionary<int, AccountKey> publicKeys, List<AccountKeyMaterial> unlocked)
    {
        foreach (var credential in credentials.Where(c => c.Kind == CredentialKind.RecoveredKey).OrderByDescending(c => c.KeyVersion))
        {
            if (unlocked.Any(m => m.Version == credential.KeyVersion) || RecoveredKeyCredential.Parse(credential) is not { } named
                || unlocked.FirstOrDefault(m => m.Version == named.HolderVersion) is not { } holder)
            {
                continue;
            }

            byte[] privateKey;
            try
            {
                privateKey = RecoveryOpening.Open(holder.PrivateKey, named.RequestId, accountId, credential.KeyVersion, accountId, named.HolderVersion, credential.WrappedKey);
            }
            catch (CryptographicException)
            {
                VaultLog.PrivateKeyMismatch(_logger, accountId, credential.KeyVersion);
                continue;
            }

            if (publicKeys.TryGetValue(credential.KeyVersion, out var publicKey) && CryptographicOperations.FixedTimeEquals(Hpke.PublicKeyOf(privateKey), publicKey.PublicKey))
            {
                unlocked.Add(AccountKeyMaterial.From(credential.KeyVersion, privateKey));
            }
            else
            {
                VaultLog.PrivateKeyMismatch(_logger, accountId, credential.KeyVersion);
            }

            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    // Owners see when each app password was last used; to the hour, so a login storm does not write per login.
    private async Task NoteUseAsync(Credential credential, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        if (credential.LastUsedAt is { } used && now - used < TimeSpan.FromHours(1))
        {
            return;
        }

        try
        {
            await Dir.TouchCredentialAsync(credential.Id, now, ct);
        }
        catch (SealpostException)
        {
            // The login stands; the note is best effort.
        }
    }

    public async Task<bool> ChangePasswordAsync(Account account, string oldPassword, string newPassword, bool byOwner, CancellationToken ct = default)
    {
        var (materials, used) = await UnlockCredentialsAsync(account, oldPassword, true, ct);
        if (materials.Count == 0)
        {
            throw new SealpostException(ErrorKind.Forbidden, "the old password is wrong");
        }

        // Someone else set the old password and so could unwrap every key it wraps, from any copy of
        // the database taken before now: the owner's own password must not wrap those keys.
        if (byOwner && used.Any(c => c.Kind == CredentialKind.ProvisionalPassword))
        {
            using var old = new AccountSession(account.Id, materials);
            await RotateAsync(account, old, newPassword, CredentialKind.Password, "owner replaced a provisional password", ct);
            return true;
        }

        try
        {
            var kind = byOwner ? CredentialKind.Password : CredentialKind.ProvisionalPassword;
            var added = new List<NewCredential>();
            foreach (var material in materials)
            {
                var (verifier, keys) = _kdf.NewPassword(newPassword);
                using (keys)
                {
                    added.Add(new NewCredential(kind, "password", verifier, material.Version, WrapPrivateKey(keys.WrapKey, account.Id, material.Version, material.PrivateKey)));
                }
            }

            await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id) { RemoveCredentialKinds = [CredentialKind.Password, CredentialKind.ProvisionalPassword], AddCredentials = added }, ct);
            return false;
        }
        finally
        {
            materials.ForEach(m => m.Dispose());
        }
    }

    public async Task<IAccountSession> ResetPasswordAsync(Account account, string newPassword, CancellationToken ct = default)
    {
        var (verifier, keys) = _kdf.NewPassword(newPassword);
        using (keys)
        {
            return await ResetCoreAsync(account, CredentialKind.ProvisionalPassword, ResetLabel, verifier, keys, "password reset", ct);
        }
    }

    public async Task<(IAccountSession Session, string Token, DateTimeOffset ExpiresAt)> ResetForEnrolmentAsync(Account account, CancellationToken ct = default)
    {
        var (token, verifier, keys) = CredentialKdf.NewEnrolmentToken();
        var expires = DateTimeOffset.UtcNow.AddHours(_options.EnrolmentTokenHours);
        using (keys)
        {
            return (await ResetCoreAsync(account, CredentialKind.EnrolmentToken, "enrolment", verifier, keys, "reset to enrolment", ct), token, expires);
        }
    }

    /// <summary>
    /// A new key version wrapped under one credential and to recovery; every other credential goes (they
    /// wrap the old key, which now opens only with the recovery key).
    /// </summary>
    private async Task<IAccountSession> ResetCoreAsync(Account account, CredentialKind kind, string label, string verifier, CredentialKeys keys, string reason, CancellationToken ct)
    {
        var version = (await Dir.ListAccountKeysAsync(account.Id, ct)).Select(k => k.Version).DefaultIfEmpty(0).Max() + 1;
        var (privateKey, publicKey) = Hpke.GenerateKeyPair();
        await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
        {
            NewKey = NewKeyVersion(account.Id, version, publicKey, privateKey, null),
            RemoveAllCredentials = true,
            AddCredentials = [new NewCredential(kind, label, verifier, version, WrapPrivateKey(keys.WrapKey, account.Id, version, privateKey))],
            AddRecoveryWraps = await RecoveryWrapsAsync(account.Id, version, privateKey, ct),
        }, ct);
        var session = new AccountSession(account.Id, [AccountKeyMaterial.From(version, privateKey)]);
        CryptographicOperations.ZeroMemory(privateKey);
        VaultLog.KeyCreated(_logger, account.Id, version, reason);
        return session;
    }

    public async Task RotateKeyAsync(Account account, string password, CancellationToken ct = default)
    {
        var (old, used) = await UnlockCredentialsAsync(account, password, true, ct);
        if (old.Count == 0)
        {
            throw new SealpostException(ErrorKind.Forbidden, "the password is wrong");
        }

        // The same password wraps the new key: if someone else set it, it stays provisional.
        var kind = used.Any(c => c.Kind == CredentialKind.ProvisionalPassword) ? CredentialKind.ProvisionalPassword : CredentialKind.Password;
        using var oldSession = new AccountSession(account.Id, old);
        await RotateAsync(account, oldSession, password, kind, "rotation", ct);
    }

    /// <summary>
    /// A new key version wrapped under <paramref name="password"/> and to recovery; content keys, folder
    /// names and keywords re-wrapped from <paramref name="oldSession"/>; then the old versions' credential
    /// wraps removed (app passwords with them: they must be re-issued).
    /// </summary>
    private async Task RotateAsync(Account account, AccountSession oldSession, string password, CredentialKind kind, string reason, CancellationToken ct)
    {
        var oldVersions = oldSession.KeyVersions.ToList();
        var ring = await Dir.ListAccountKeysAsync(account.Id, ct);
        var version = ring.Max(k => k.Version) + 1;

        // The new version chains to the one before it only where that one has a signing key of its own
        // (a version made before endorsements has none): otherwise it waits for two people.
        var previous = oldSession.Key(version - 1);
        if (previous is not null && !(KeyVersionProof.Decode(ring.First(k => k.Version == previous.Version).Signature)?.SigningPublicKey
                .AsSpan().SequenceEqual(KeyVersionProof.SigningPublicKeyOf(account.Id, previous.Version, previous.PrivateKey)) ?? false))
        {
            previous = null;
        }

        var (privateKey, publicKey) = Hpke.GenerateKeyPair();
        using var newSession = new AccountSession(account.Id, [AccountKeyMaterial.From(version, privateKey)]);

        // 1. The new key joins the ring, wrapped to the password and the recovery key. Old wraps stay
        //    until everything is re-wrapped, so a crash half-way leaves every message readable.
        var (verifier, keys) = _kdf.NewPassword(password);
        using (keys)
        {
            await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
            {
                NewKey = NewKeyVersion(account.Id, version, publicKey, privateKey, previous),
                AddCredentials = [new NewCredential(kind, "password", verifier, version, WrapPrivateKey(keys.WrapKey, account.Id, version, privateKey))],
                AddRecoveryWraps = await RecoveryWrapsAsync(account.Id, version, privateKey, ct),
            }, ct);
        }

        CryptographicOperations.ZeroMemory(privateKey);

        // 2. Every folder gets a new folder key under the new account key (a copy of the database from
        //    before holds the old folder keys under the old account key: they must open nothing new),
        //    and every content key moves under it.
        var count = 0;
        var mailboxes = await _store.Mail.ListMailboxesAsync(account.Id, ct);
        var oldFolderKeys = mailboxes.Select(m => (m.Id, Key: oldSession.FolderKey(m.Id, m.SealedName))).Where(k => k.Key is not null).ToDictionary(k => k.Id, k => k.Key!);
        var folderKeys = new Dictionary<long, byte[]>();
        foreach (var mailbox in mailboxes)
        {
            if (oldSession.Names.Unseal(account.Id, mailbox.SealedName) is not { } name)
            {
                continue;
            }

            folderKeys[mailbox.Id] = RandomNumberGenerator.GetBytes(32);
        }

        foreach (var mailbox in mailboxes.Where(m => folderKeys.ContainsKey(m.Id)))
        {
            var updates = new List<(uint, byte[])>();
            var leftUnder = false;
            foreach (var message in await _store.Mail.ListMessagesAsync(mailbox.Id, UidRange.All, ct))
            {
                if (message.WrappedKey is null)
                {
                    continue;
                }

                var (_, _, messageId) = ContentKeyWrap.Describe(message.WrappedKey);
                if (OpenForRotation(oldSession, oldFolderKeys, account.Id, message.WrappedKey) is not { } contentKey)
                {
                    // Under a key this account lost at a reset (only recovery opens it): left as it is.
                    leftUnder = true;
                    continue;
                }

                updates.Add((message.Uid, ContentKeyWrap.WrapFolder(folderKeys[mailbox.Id], account.Id, mailbox.Id, messageId, contentKey)));
                CryptographicOperations.ZeroMemory(contentKey);
            }

            // The new folder key (in the name) and everything under it land together; a former name some
            // message is still under stays with it.
            var name = oldSession.Names.Unseal(account.Id, mailbox.SealedName)!;
            var sealedName = SealedNameProtector.WithFormer(SealedNameProtector.SealFolderWith(newSession.Current, account.Id, name, folderKeys[mailbox.Id]),
                leftUnder ? SealedNameProtector.Former(mailbox.SealedName) : null);
            await _store.Mail.RekeyMailboxAsync(mailbox.Id, newSession.Names.LookupKey(account.Id, name), sealedName, updates, ct);
            count += updates.Count;
        }

        foreach (var key in folderKeys.Values)
        {
            CryptographicOperations.ZeroMemory(key);
        }

        foreach (var keyword in await _store.Mail.ListKeywordsAsync(account.Id, ct))
        {
            if (oldSession.Names.Unseal(account.Id, keyword.SealedName) is { } name)
            {
                await _store.Mail.UpdateKeywordAsync(keyword.Id, newSession.Names.LookupKey(account.Id, name), newSession.Names.Seal(account.Id, name), ct);
            }
        }

        foreach (var detached in await _store.Mail.ListDetachedSubscriptionsAsync(account.Id, ct))
        {
            if (oldSession.Names.Unseal(account.Id, detached.SealedName) is { } name)
            {
                await _store.Mail.RemoveDetachedSubscriptionAsync(account.Id, detached.NameKey, ct);
                await _store.Mail.AddDetachedSubscriptionAsync(account.Id, newSession.Names.LookupKey(account.Id, DetachedSubscription.LookupName(name)), newSession.Names.Seal(account.Id, name), ct);
            }
        }

        // 3. Only now do the old credential wraps go (app passwords with them: they must be re-issued).
        await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id) { RemoveCredentialWrapsOfKeyVersions = oldVersions }, ct);
        VaultLog.KeyCreated(_logger, account.Id, version, reason);
        VaultLog.Rewrapped(_logger, account.Id, count, version);
    }

    /// <summary>A content key as a rotation finds it (under its folder's key, a former one, or an account key version); null if the session holds none of them.</summary>
    private static byte[]? OpenForRotation(AccountSession session, Dictionary<long, byte[]> folderKeys, long accountId, byte[] wrapped)
    {
        if (ContentKeyWrap.FolderOf(wrapped) is not { } folder)
        {
            try
            {
                return ContentKeyWrap.Unwrap(session, wrapped);
            }
            catch (CryptographicException)
            {
                return null;
            }
        }

        var candidates = folderKeys.TryGetValue(folder, out var key) ? [key, .. session.KnownFormerFolderKeys(folder)] : Array.Empty<byte[]>();
        foreach (var candidate in candidates)
        {
            try
            {
                return ContentKeyWrap.UnwrapFolder(candidate, accountId, wrapped);
            }
            catch (CryptographicException)
            {
                // an older key of the folder, or none
            }
        }

        return null;
    }

    public async Task<string> CreateAppPasswordAsync(IAccountSession session, string label, CancellationToken ct = default)
    {
        var s = (AccountSession)session;
        if (string.IsNullOrWhiteSpace(label) || label.Length > 64 || label.Any(char.IsControl))
        {
            throw SealpostException.Invalid("an app password needs a label of 1-64 printable characters");
        }

        var (secret, verifier, keys) = _kdf.NewAppPassword();
        using (keys)
        {
            var key = s.Current;
            await Dir.ApplyKeyRingChangeAsync(new KeyRingChange(s.AccountId)
            {
                AddCredentials = [new NewCredential(CredentialKind.AppPassword, label.Trim(), verifier, key.Version, WrapPrivateKey(keys.WrapKey, s.AccountId, key.Version, key.PrivateKey))],
            }, ct);
        }

        return secret;
    }

    public Task SpendPasswordWorkAsync(string secret, CancellationToken ct = default) => _kdf.SpendWorkAsync(secret, ct);

    /// <summary>Opens a recovery wrap with the recovery private key (what security officers do offline).</summary>
    public static byte[] OpenRecoveryWrap(byte[] recoveryPrivateKey, RecoveryWrap wrap)
    {
        var aad = Aead.Context(RecoveryInfo, wrap.AccountId, wrap.KeyVersion, BitConverter.GetBytes(wrap.RecoveryKeyVersion));
        return Hpke.Open(recoveryPrivateKey, wrap.WrappedKey.AsSpan(0, Hpke.EncLength), RecoveryInfo, aad, wrap.WrappedKey.AsSpan(Hpke.EncLength));
    }

    private static byte[] WrapPrivateKey(byte[] wrapKey, long accountId, int version, byte[] privateKey) =>
        Aead.Seal(wrapKey, privateKey, WrapContext(accountId, version));

    /// <summary>The associated data of a credential's wrap of key version <paramref name="version"/> (tests try keys on it).</summary>
    internal static byte[] WrapContext(long accountId, int version) => Aead.Context(WrapLabel, accountId, version);

    /// <summary>
    /// A new version's row: its proof signed by <paramref name="previous"/> (the version before it, which
    /// its owner's credential unwrapped), else waiting for two people (endorsed at once by a local officer pair).
    /// </summary>
    private AccountKey NewKeyVersion(long accountId, int version, byte[] publicKey, byte[] privateKey, AccountKeyMaterial? previous)
    {
        var proof = previous is not null && previous.Version == version - 1
            ? KeyVersionProof.SignedByPrevious(accountId, version, publicKey, privateKey, previous.Version, previous.PrivateKey)
            : _trust.NewProof(accountId, version, publicKey, KeyVersionProof.SigningPublicKeyOf(accountId, version, privateKey));
        return new AccountKey(accountId, version, publicKey, proof.Encode(), DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// Wraps to the trust anchor's current recovery key. A recovery key that only the database names
    /// (not the officers' anchor) is refused and logged: it would hand every new key to whoever made it.
    /// </summary>
    private async Task<IReadOnlyList<RecoveryWrap>> RecoveryWrapsAsync(long accountId, int version, byte[] privateKey, CancellationToken ct)
    {
        var recovery = _trust.IsPinned ? _trust.Current.CurrentRecoveryKey : throw KeyTrust.NotPinned();
        foreach (var listed in await Dir.ListRecoveryKeysAsync(ct))
        {
            if (_trust.Chain.SelectMany(a => a.RecoveryKeys).All(k => k.Version != listed.Version || !k.PublicKey.AsSpan().SequenceEqual(listed.PublicKey)))
            {
                VaultLog.RecoveryKeyNotAnchored(_logger, listed.Version);
            }
        }

        var aad = Aead.Context(RecoveryInfo, accountId, version, BitConverter.GetBytes(recovery.Version));
        var (enc, ct2) = Hpke.Seal(recovery.PublicKey, RecoveryInfo, aad, privateKey);
        return [new RecoveryWrap(accountId, version, recovery.Version, [.. enc, .. ct2])];
    }

    private string CacheKey(long accountId, string secret) =>
        Convert.ToBase64String(HMACSHA256.HashData(_cacheKey, Encoding.UTF8.GetBytes(accountId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\0" + secret)));

    private void Evict(string key)
    {
        if (_cache.TryRemove(key, out var entry))
        {
            entry.Dispose();
        }
    }

    private sealed record CachedLogin(int CredentialVersion, DateTimeOffset Expires, List<AccountKeyMaterial> Keys, bool AfterReset) : IDisposable
    {
        public void Dispose() => Keys.ForEach(k => k.Dispose());
    }
}
