using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Configuration;
using Sealpost.Core.Directory;
using Sealpost.Core.Logging;
using Sealpost.Core.Storage;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;
using Sealpost.Domain;
using Sealpost.Domain.Audit;
using Sealpost.Mime;
using Sealpost.Store.Sqlite;

namespace Sealpost.Server;

/// <summary>
/// The wired domain: store, vault and services for one data folder. The CLI opens one per command;
/// the server one for its lifetime. Only this class knows which store is concrete.
/// </summary>
public sealed class SealpostRuntime : IAsyncDisposable
{
    private SealpostRuntime(SealpostOptions options, DataFolder folder, ISealpostStore store, Keystore keystore, KeyTrust trust, ILoggerFactory loggerFactory, LogRedactor redactor, byte[] loginThrottleSecret, AuditTrail audit, byte[] srsSecret, byte[] apiLookupSecret, byte[] secondFactorSecret)
    {
        Trust = trust;
        Audit = audit;
        TlsReports = options.Delivery.TlsReports ? new Sealpost.Delivery.TlsReportCollector() : null;
        Guard = new AccessGuard(audit, redactor, loggerFactory.CreateLogger<AccessGuard>());
        Options = options;
        Folder = folder;
        Store = store;
        Keystore = keystore;
        LoggerFactory = loggerFactory;
        Redactor = redactor;
        Analyzer = new MessageAnalyzer(options.Limits.MaxMimeDepth);
        DeliveryBatches = new DeliveryBatches(TimeSpan.FromSeconds(options.Vault.DeliveryBatchSeconds));
        Delivery = new SealedDelivery(store, trust, Analyzer, loggerFactory.CreateLogger<SealedDelivery>(), DeliveryBatches);
        Vault = new AccountVault(store, trust, new CredentialKdf(options.PasswordHashing), options.Vault, loggerFactory.CreateLogger<AccountVault>());
        Reader = new MessageReader(store.Mail, loggerFactory.CreateLogger<MessageReader>(), new MetadataCache(options.Vault.MetadataCacheEntries));
        Mailboxes = new MailboxService(store.Mail);
        LoginThrottle = new Sealpost.Core.Security.LoginThrottle(store.Directory, loginThrottleSecret, options.Limits.MaxAuthFailuresPerAddress, options.Limits.MaxAuthFailuresPerAccount, TimeSpan.FromMinutes(options.Limits.AuthFailureWindowMinutes),
            familiarFor: TimeSpan.FromDays(options.Limits.FamiliarAddressDays));
        var notices = new OwnerNotices(store.Mail, Delivery);
        Directory = new DirectoryService(store, Vault, Mailboxes, notices, Guard, LoginThrottle, redactor, loggerFactory.CreateLogger<DirectoryService>());
        Authentication = new AuthenticationService(Directory, LoginThrottle, Guard, Reader.RewrapAfterLogin);
        AuditService = new AuditService(audit, Guard, store.Directory, trust);
        AccessGrants = new AccessGrantService(store, trust, Guard, TimeProvider.System) { OwnerNotices = options.Vault.TellOwnersOfGrants ? notices : null };
        Mail = new MailService(store, Mailboxes, Reader, Delivery, Guard, AccessGrants);
        Configuration = new ConfigurationService(keystore, Guard, store.Directory);
        KeyCustody = new KeyCustodyService(store, trust, Guard, keystore, AccessGrants);
        Recipients = new RecipientResolver(store.Directory, options.Limits.MaxGroupNesting, options.Limits.MaxExpandedRecipients, redactor, loggerFactory.CreateLogger<RecipientResolver>());
        MessageMemory = new Sealpost.Connections.MessageMemoryBudget(options.Limits.MaxMessageMemoryBytes, options.Limits.MessageMemoryPerAddress);
        MessageProcessing = new Sealpost.Connections.MessageProcessingGate(options.Limits.MaxMessageMemoryBytes);
        QueueSealer = new QueueSealer(keystore);
        Dkim = new DkimService(keystore, store.Directory, Guard, TimeProvider.System) { MtaSts = HostedMtaSts.From(options.Smtp) };
        Deliveries = new DeliveryService(store, Recipients, Delivery, QueueSealer, Guard, options.Smtp.QuotaGraceBytes, TimeSpan.FromSeconds(options.Smtp.LookupCacheSeconds), QueueWakeup, Dkim,
            new SendingLimits(options.Delivery.MaxMessagesPerAccountPerHour, options.Delivery.MaxRecipientsPerAccountPerHour), loggerFactory.CreateLogger<DeliveryService>(),
            new Srs(srsSecret, TimeProvider.System));
        Queue = new Sealpost.Domain.Queue.QueueService(store, QueueSealer, Guard, TimeProvider.System);
        Backups = new BackupService(store, audit, Guard, folder.Path, options.EffectiveBackupDirectory, TimeProvider.System);
        notices.Outbound = (message, messageId, ct) => Deliveries.EnqueueAsync(Actor.System("notice"), message, messageId, ct);
        Directory.AccountsChanged += Deliveries.ForgetRecipients;
        AdminAccess = new Sealpost.Domain.Administration.AdminAccessService(store, Authentication, Directory, Guard, apiLookupSecret, secondFactorSecret,
            "Sealpost " + options.Hostname, TimeSpan.FromMinutes(options.Http.SessionMinutes), TimeSpan.FromDays(options.Http.MaxTokenDays), TimeProvider.System,
            TimeSpan.FromMinutes(options.Http.SessionIdleMinutes));
    }

    /// <summary>The officers' trust anchor: which account key versions mail may be sealed to.</summary>
    public KeyTrust Trust { get; }

    /// <summary>Key versions awaiting endorsement, endorsements, and changes to the trust anchor.</summary>
    public KeyCustodyService KeyCustody { get; }

    /// <summary>Two-officer access grants: the only way anyone but the owner reads a mailbox.</summary>
    public AccessGrantService AccessGrants { get; }

    /// <summary>DKIM keys per domain and the signing of outbound mail.</summary>
    public DkimService Dkim { get; }

    /// <summary>Seals outbound queue entries (the queue key), bound to their rows.</summary>
    public QueueSealer QueueSealer { get; }

    /// <summary>Wakes this node's outbound workers when mail is queued here.</summary>
    public Sealpost.Domain.Queue.QueueWakeup QueueWakeup { get; } = new();

    /// <summary>This node's outbound TLS sessions counted for TLS-RPT reports (Delivery:TlsReports), or null.</summary>
    public Sealpost.Delivery.TlsReportCollector? TlsReports { get; }

    /// <summary>Inbound delivery, submission and the outbound queue's entry.</summary>
    public DeliveryService Deliveries { get; }

    /// <summary>The outbound queue for operators and the workers.</summary>
    public Sealpost.Domain.Queue.QueueService Queue { get; }

    public BackupService Backups { get; }

    public SealpostOptions Options { get; }

    /// <summary>Message data held by SMTP and IMAP sessions together (Limits:MaxMessageMemoryBytes).</summary>
    public Sealpost.Connections.MessageMemoryBudget MessageMemory { get; }

    /// <summary>Memory for turning whole messages into sealed ones, SMTP deliveries and IMAP APPENDs together (Limits:MaxMessageMemoryBytes).</summary>
    public Sealpost.Connections.MessageProcessingGate MessageProcessing { get; }
    public DataFolder Folder { get; }
    public ISealpostStore Store { get; }
    public Keystore Keystore { get; }
    public ILoggerFactory LoggerFactory { get; }
    public LogRedactor Redactor { get; }
    public MessageAnalyzer Analyzer { get; }
    public AccountVault Vault { get; }
    public SealedDelivery Delivery { get; }

    /// <summary>This node's delivery batch keys (Vault:DeliveryBatchSeconds), zeroed when the runtime closes.</summary>
    public DeliveryBatches DeliveryBatches { get; }
    public MessageReader Reader { get; }
    public DirectoryService Directory { get; }
    public MailboxService Mailboxes { get; }
    public RecipientResolver Recipients { get; }
    public AuditTrail Audit { get; }

    /// <summary>"sqlite" or "postgres", for what the CLI and health print.</summary>
    public string StoreKind => Store.Kind;

    public Task<int> GetSchemaVersionAsync(CancellationToken ct = default) => Store.GetSchemaVersionAsync(ct);
    public AccessGuard Guard { get; }
    public AuthenticationService Authentication { get; }
    public AuditService AuditService { get; }
    public MailService Mail { get; }
    public ConfigurationService Configuration { get; }

    /// <summary>Keystore entry whose key authenticates SRS addresses of forwarded mail.</summary>
    public const string SrsSecretName = "srs";

    /// <summary>Keystore secret keying the hash API sessions and tokens are found by.</summary>
    public const string ApiLookupSecretName = "api-lookup";

    /// <summary>Keystore secret sealing TOTP secrets and keying recovery-code hashes.</summary>
    public const string SecondFactorSecretName = "second-factor";

    /// <summary>Sign-in, sessions, tokens, TOTP and self-service for the admin API.</summary>
    public Sealpost.Domain.Administration.AdminAccessService AdminAccess { get; }

    /// <summary>Keystore entry whose key hashes account names in the failed-login table.</summary>
    public const string LoginThrottleSecretName = "login-throttle";

    /// <summary>Failed-login accounting shared by every protocol and node.</summary>
    public Sealpost.Core.Security.LoginThrottle LoginThrottle { get; }

    /// <summary>What health reports about the keystore.</summary>
    public string SealState { get; internal set; } = "master key from file: not sealed";

    /// <summary>
    /// Opens an initialised data folder with its master key: <paramref name="masterKey"/> where the
    /// officers' shares gave it (the caller zeroes it), else the folder's key file.
    /// </summary>
    public static async Task<SealpostRuntime> OpenAsync(SealpostOptions options, ILoggerFactory loggerFactory, CancellationToken ct = default, byte[]? masterKey = null)
    {
        var folder = new DataFolder(options.DataDirectory);
        if (!folder.IsInitialised)
        {
            throw SealpostException.NotFound($"'{folder.Path}' is not an initialised data folder; run 'sealpost init --data {folder.Path}' first");
        }

        var shares = Unseal.ShareSet.Load(folder.Path);
        if (shares is not null && masterKey is null)
        {
            throw new SealpostException(ErrorKind.Forbidden, $"'{folder.Path}' is sealed by {shares.Describe()}; they unseal it");
        }

        var store = await OpenStoreAsync(options, folder, ct);
        try
        {
            var key = masterKey ?? KeyFiles.LoadOrCreateMasterKey(options.Vault.MasterKeyFile, create: false);
            Keystore keystore;
            try
            {
                keystore = await Keystore.OpenAsync(store.Directory, key, ct);
            }
            finally
            {
                if (masterKey is null)
                {
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
                }
            }

            // A folder made before trust anchors (test rigs, --dev) gets a local officer pair pinned with its recovery key.
            var legacyRecovery = (await store.Directory.ListRecoveryKeysAsync(ct)).MaxBy(k => k.Version)?.PublicKey;
            var trust = await KeyTrust.OpenAsync(keystore, LocalOfficersFile(options, folder), legacyRecovery, loggerFactory.CreateLogger<KeyTrust>(), ct);
            var runtime = new SealpostRuntime(options, folder, store, keystore, trust, loggerFactory, new LogRedactor(folder.ReadLogKey()),
                await keystore.GetOrCreateSecretAsync(LoginThrottleSecretName, 32, ct), await OpenAuditAsync(options, folder, keystore, loggerFactory, ct),
                await keystore.GetOrCreateSecretAsync(SrsSecretName, 32, ct),
                await keystore.GetOrCreateSecretAsync(ApiLookupSecretName, 32, ct), await keystore.GetOrCreateSecretAsync(SecondFactorSecretName, 32, ct))
            {
                SealState = shares is null ? "master key from file: not sealed" : "unsealed with " + shares.Describe(),
            };
            if (trust.PinnedLocallyNow)
            {
                await runtime.KeyCustody.EndorsePendingLocallyAsync(Actor.System(), ct);
            }

            return runtime;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Creates a new data folder: layout, schema, keystore (master key file made if missing), the
    /// recovery public key, the default tenant. A dev folder makes its own recovery key pair.
    /// </summary>
    public static async Task<SealpostRuntime> InitialiseAsync(SealpostOptions options, ILoggerFactory loggerFactory, bool dev, string? recoveryPublicKeyFile, CancellationToken ct = default, UnsealSetup? unseal = null, TrustAnchor? anchor = null)
    {
        var folder = new DataFolder(options.DataDirectory);
        byte[]? recoveryPublicKey = null;
        if (anchor is not null)
        {
            if (TrustAnchor.CheckChain([anchor]) is { } problem)
            {
                throw SealpostException.Invalid("the trust anchor is refused: " + problem);
            }

            recoveryPublicKey = anchor.CurrentRecoveryKey.PublicKey;
            if (recoveryPublicKeyFile is not null && !KeyFiles.Read(recoveryPublicKeyFile, KeyFiles.RecoveryPublicLabel, 32).AsSpan().SequenceEqual(recoveryPublicKey))
            {
                throw SealpostException.Invalid("--recovery-public-key is not the trust anchor's current recovery key (give only --trust-anchor)");
            }
        }
        else if (!dev)
        {
            if (recoveryPublicKeyFile is null)
            {
                throw SealpostException.Invalid("init needs --trust-anchor FILE (the security officers' signed anchor, 'sealpost trust-anchor new') or, on a test rig, --recovery-public-key FILE");
            }

            if (LocalOfficersFile(options, folder) is null)
            {
                throw SealpostException.Invalid("init needs --trust-anchor FILE: the security officers' signed anchor ('sealpost trust-anchor new'); only test rigs and --dev endorse key versions with a local officer pair");
            }

            recoveryPublicKey = KeyFiles.Read(recoveryPublicKeyFile, KeyFiles.RecoveryPublicLabel, 32);
        }

        folder.Initialise(dev);
        if (dev)
        {
            var (privateKey, publicKey) = Hpke.GenerateKeyPair();
            KeyFiles.Write(Path.Combine(folder.Path, DataFolder.DevRecoveryPrivateKeyName), KeyFiles.RecoveryPrivateLabel, privateKey);
            recoveryPublicKey = publicKey;
        }

        var store = await OpenStoreAsync(options, folder, ct);
        try
        {
            var masterKey = unseal?.MasterKey ?? KeyFiles.LoadOrCreateMasterKey(options.Vault.MasterKeyFile, create: true);
            var keystore = await Keystore.OpenAsync(store.Directory, masterKey, ct);
            if (unseal is null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(masterKey);
            }

            if (anchor is not null)
            {
                await KeyTrust.PinAsync(keystore, anchor, ct);
            }

            var trust = await KeyTrust.OpenAsync(keystore, anchor is null ? LocalOfficersFile(options, folder) : null, recoveryPublicKey, loggerFactory.CreateLogger<KeyTrust>(), ct);
            var runtime = new SealpostRuntime(options, folder, store, keystore, trust, loggerFactory, new LogRedactor(folder.ReadLogKey()),
                await keystore.GetOrCreateSecretAsync(LoginThrottleSecretName, 32, ct), await OpenAuditAsync(options, folder, keystore, loggerFactory, ct),
                await keystore.GetOrCreateSecretAsync(SrsSecretName, 32, ct),
                await keystore.GetOrCreateSecretAsync(ApiLookupSecretName, 32, ct), await keystore.GetOrCreateSecretAsync(SecondFactorSecretName, 32, ct));
            await runtime.KeyCustody.RecordPinnedAsync(LocalAdministrator, ct);
            foreach (var key in trust.Current.RecoveryKeys)
            {
                await runtime.Configuration.AddRecoveryKeyAsync(LocalAdministrator, key.Version, key.PublicKey, ct);
            }

            await runtime.Directory.AddTenantAsync(LocalAdministrator, "default", "Default tenant", ct);
            if (unseal is not null)
            {
                unseal.Set.Save(folder.Path);
                runtime.SealState = "unsealed with " + unseal.Set.Describe();
            }

            folder.MarkInitialised();
            return runtime;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Where a local officer pair is kept that endorses key versions at once: only in --dev folders and
    /// under the test-only password profile (production has the officers' own keys); otherwise null.
    /// </summary>
    public static string? LocalOfficersFile(SealpostOptions options, DataFolder folder) =>
        folder.IsDev || options.PasswordHashing.Profile == OptionsValidator.TestProfile ? Path.Combine(folder.Path, DataFolder.LocalOfficersName) : null;

    /// <summary>A master key made by init and the officers' share set that will unseal it from then on.</summary>
    public sealed record UnsealSetup(byte[] MasterKey, Unseal.ShareSet Set);

    /// <summary>Who runs a command at this machine's terminal: a platform administrator named by OS user and host.</summary>
    public static Actor LocalAdministrator { get; } = Actor.LocalAdministrator(Environment.UserName, Environment.MachineName);

    /// <summary>The audit trail: its own store (DATA/audit.db, or the audit database beside PostgreSQL), the local spool, the audit key.</summary>
    public static async Task<AuditTrail> OpenAuditAsync(SealpostOptions options, DataFolder folder, Keystore keystore, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        if (options.Audit.Store == "discard-benchmark-only" && !folder.IsDev)
        {
            throw new SealpostException(ErrorKind.Forbidden, "Audit:Store: 'discard-benchmark-only' throws the audit trail away and is refused outside a --dev data folder");
        }

        IAuditStore auditStore = options.Audit.Store == "discard-benchmark-only" ? new DiscardingAuditStore()
            : options.Store.Kind == "postgres"
            ? await Sealpost.Store.Postgres.PostgresAuditStore.OpenAsync(AuditConnectionString(options), options.Audit.BusyTimeoutMilliseconds, ct)
            : await SqliteAuditStore.OpenAsync(folder.Path, options.Audit.BusyTimeoutMilliseconds, ct);
        var seed = await keystore.GetOrCreateSecretAsync(Keystore.AuditSigningName, 32, ct);
        return new AuditTrail(auditStore, new AuditSpool(folder.Path, options.Audit.SpoolMaxEvents), new AuditSigner(seed),
            string.IsNullOrWhiteSpace(options.Audit.Node) ? Environment.MachineName : options.Audit.Node,
            TimeSpan.FromSeconds(options.Audit.CheckpointIntervalSeconds), loggerFactory.CreateLogger<AuditTrail>(), TimeSpan.FromMilliseconds(options.Audit.GroupCommitMilliseconds));
    }

    /// <summary>Audit:ConnectionString, or the store's with its database name suffixed "_audit".</summary>
    public static string AuditConnectionString(SealpostOptions options) =>
        options.Audit.ConnectionString ?? Sealpost.Store.Postgres.PostgresAuditStore.DeriveConnectionString(options.Store.ConnectionString!);

    /// <summary>Brings the configured store's schema to this program's version (the migrate command).</summary>
    public static async Task<(string Kind, int Version)> MigrateStoreAsync(SealpostOptions options, CancellationToken ct)
    {
        await using var store = await OpenStoreAsync(options, new DataFolder(options.DataDirectory), ct, migrate: true);
        return (store.Kind, await store.GetSchemaVersionAsync(ct));
    }

    /// <summary>The configured store. Only here does the code know which database is underneath.</summary>
    public static async Task<ISealpostStore> OpenStoreAsync(SealpostOptions options, DataFolder folder, CancellationToken ct, bool? migrate = null) =>
        options.Store.Kind switch
        {
            "sqlite" => await SqliteStore.OpenAsync(folder.Path, options.Store, new InProcessChangeFeed(), migrate: true, ct),
            "postgres" => await Sealpost.Store.Postgres.PostgresStore.OpenAsync(options.Store.ConnectionString!, migrate ?? options.Store.MigrateOnStart, ct),
            _ => throw SealpostException.Invalid($"Store:Kind: '{options.Store.Kind}' is not supported"),
        };

    public async ValueTask DisposeAsync()
    {
        await Reader.DisposeAsync(); // the re-wraps reads found, written before the store closes
        await Audit.DisposeAsync();
        Vault.Dispose();
        DeliveryBatches.Dispose();
        Keystore.Dispose();
        await Store.DisposeAsync();
    }
}
