using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;

namespace Sealpost.Core.Storage;

/// <summary>
/// One store: directory, mail and change feed over one database. Implementations must not assume a
/// single writer: several nodes (PostgreSQL) or processes (SQLite: server and CLI) write at once.
/// </summary>
public interface ISealpostStore : IAsyncDisposable
{
    /// <summary>"sqlite", "postgres": for health output and logs.</summary>
    string Kind { get; }

    IDirectoryStore Directory { get; }

    IMailStore Mail { get; }

    /// <summary>The outbound queue: messages for other organisations, sealed with the queue key.</summary>
    IQueueStore Queue { get; }

    /// <summary>Mailbox change notifications, published after the change committed.</summary>
    IChangeFeed Changes { get; }

    /// <summary>Brings the schema to the current version.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Current schema version, 0 for an empty database.</summary>
    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// After deleting what must not be recoverable (a removed key wrap, a shredded account): makes the store's own files
    /// forget it as far as the store can. SQLite: deleted pages are zeroed (secure_delete) and the WAL is
    /// checkpointed and truncated, so no older page image remains; false if readers kept it busy.
    /// PostgreSQL keeps dead tuples until VACUUM reuses their space: the operator's schedule.
    /// </summary>
    Task<bool> ScrubAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a consistent copy of the store into <paramref name="folder"/> while it serves: every row as
    /// of one moment, and every blob file a row of that moment names. SQLite: the databases through the
    /// online backup API while writes pause, then the blob files. PostgreSQL refuses
    /// (<see cref="ErrorKind.Invalid"/>): its backups are pg_basebackup and WAL archiving.
    /// </summary>
    Task<BackupStats> BackupToAsync(string folder, CancellationToken cancellationToken = default);
}

/// <summary>What a backup wrote.</summary>
public sealed record BackupStats(int Files, long Bytes)
{
    public BackupStats Add(BackupStats other) => new(Files + other.Files, Bytes + other.Bytes);
}

/// <summary>Whether workers may pick a queued message up.</summary>
public enum QueueState
{
    Ready = 0,
    /// <summary>Held by an operator or the abuse limits: no attempt until released.</summary>
    Held = 1,
}

/// <summary>
/// A message waiting for delivery to another organisation. <see cref="Sealed"/> (envelope and
/// message) and <see cref="Progress"/> (each recipient's state, last reply, TLS used) are opaque,
/// sealed with the queue key and bound to <see cref="Id"/>; <see cref="SealVersion"/> 1 is an entry
/// from before that binding.
/// </summary>
public sealed record QueuedMessage(
    long Id,
    byte[] Sealed,
    DateTimeOffset CreatedAt,
    DateTimeOffset NextAttemptAt,
    int Attempts,
    QueueState State,
    long Size,
    byte[]? Progress,
    string? LeaseOwner,
    DateTimeOffset? LeaseUntil,
    int SealVersion);

/// <summary>
/// The durable outbound queue. Workers on any node <see cref="ClaimAsync"/> due messages with a
/// lease, so no two send one message at once; a crashed worker's lease runs out and another takes
/// the message. Delivery is at least once.
/// </summary>
public interface IQueueStore
{
    /// <summary>Stores a message sealed by <paramref name="seal"/>, which is given the row's id to bind; returns once durable.</summary>
    Task<long> EnqueueAsync(Func<long, byte[]> seal, long size, DateTimeOffset now, CancellationToken cancellationToken = default, QueueState state = QueueState.Ready);

    /// <summary>
    /// Counts one message an account sends out (with its recipients) and returns what the account
    /// sent since <paramref name="since"/>, this one included, in the same transaction (every node
    /// sees the same counts). Entries older than a day are dropped as it goes.
    /// </summary>
    Task<(int Messages, int Recipients)> CountSendAsync(long accountId, int recipients, DateTimeOffset now, DateTimeOffset since, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<QueuedMessage>> ListAsync(CancellationToken cancellationToken = default);

    Task<QueuedMessage?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="max"/> ready messages that are due at <paramref name="now"/> and
    /// not leased (or whose lease ran out), to <paramref name="owner"/> until now + <paramref name="lease"/>.
    /// </summary>
    Task<IReadOnlyList<QueuedMessage>> ClaimAsync(string owner, DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken = default);

    /// <summary>Extends a lease its owner still holds (a delivery taking longer than the lease); false if it is no longer the owner's.</summary>
    Task<bool> RenewLeaseAsync(long id, string owner, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>Records an attempt and gives the lease back; false (nothing changed) if the lease is no longer the owner's.</summary>
    Task<bool> ReleaseAsync(long id, string owner, byte[] progress, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default);

    /// <summary>Removes a message every recipient of which is done; false if the lease is no longer the owner's.</summary>
    Task<bool> CompleteAsync(long id, string owner, CancellationToken cancellationToken = default);

    /// <summary>Hold, release or retry now (an operator); <see cref="ErrorKind.NotFound"/> if there is no such message.</summary>
    Task SetStateAsync(long id, QueueState state, DateTimeOffset? nextAttemptAt, CancellationToken cancellationToken = default);

    Task RemoveAsync(long id, CancellationToken cancellationToken = default);
}

/// <summary>Tenants, domains, accounts, credentials, aliases and groups; and failed logins, shared by every node.</summary>
public interface IDirectoryStore : Sealpost.Core.Security.ILoginFailureLog
{
    Task<Tenant> CreateTenantAsync(string name, string displayName, CancellationToken cancellationToken = default);
    Task<Tenant?> FindTenantAsync(string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken = default);

    Task<MailDomain> AddDomainAsync(long tenantId, DomainName name, CancellationToken cancellationToken = default);
    Task<MailDomain?> FindDomainAsync(DomainName name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<MailDomain>> ListDomainsAsync(CancellationToken cancellationToken = default);
    /// <summary>Removes a domain that has no addresses left; <see cref="ErrorKind.Conflict"/> otherwise.</summary>
    Task RemoveDomainAsync(long domainId, CancellationToken cancellationToken = default);

    /// <summary>Creates the account and claims its address; <see cref="ErrorKind.Conflict"/> if the address is taken.</summary>
    Task<Account> CreateAccountAsync(NewAccount account, CancellationToken cancellationToken = default);
    Task<Account?> GetAccountAsync(long accountId, CancellationToken cancellationToken = default);
    Task<Account?> FindAccountAsync(MailAddress address, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<Account>> ListAccountsAsync(long? domainId = null, CancellationToken cancellationToken = default);
    Task SetAccountStateAsync(long accountId, AccountState state, CancellationToken cancellationToken = default);
    /// <summary>Replaces the account's roles and bumps its credential version.</summary>
    Task SetAccountRolesAsync(long accountId, AccountRoles roles, CancellationToken cancellationToken = default);

    /// <summary>Applies a key ring change atomically and bumps the account's credential version (login caches check it).</summary>
    /// <returns>The credentials added, with their ids.</returns>
    Task<IReadOnlyList<Credential>> ApplyKeyRingChangeAsync(KeyRingChange change, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<Credential>> ListCredentialsAsync(long accountId, CancellationToken cancellationToken = default);
    /// <summary>Notes that a login used the credential.</summary>
    Task TouchCredentialAsync(long credentialId, DateTimeOffset at, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<AccountKey>> ListAccountKeysAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a key version's proof (its endorsements) if it still is <paramref name="expected"/>;
    /// false if it changed meanwhile (another endorsement landed first) or the version does not exist.
    /// </summary>
    Task<bool> ReplaceAccountKeyProofAsync(long accountId, int version, byte[] expected, byte[] proof, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<RecoveryWrap>> ListRecoveryWrapsAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>Adds a recovery public key (a new version); <see cref="ErrorKind.Conflict"/> if the version exists.</summary>
    Task AddRecoveryKeyAsync(RecoveryKey key, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<RecoveryKey>> ListRecoveryKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Server secrets, sealed by the master key before they reach the store.</summary>
    Task<byte[]?> GetKeystoreEntryAsync(string name, CancellationToken cancellationToken = default);
    /// <summary>Adds an entry; returns false (and changes nothing) if the name exists.</summary>
    Task<bool> TryAddKeystoreEntryAsync(string name, byte[] sealedValue, CancellationToken cancellationToken = default);
    /// <summary>Adds or replaces an entry (certificate renewals).</summary>
    Task SetKeystoreEntryAsync(string name, byte[] sealedValue, CancellationToken cancellationToken = default);

    /// <summary>Looks up any address of the shared namespace (account, alias, group).</summary>
    Task<AddressEntry?> ResolveAddressAsync(MailAddress address, CancellationToken cancellationToken = default);

    Task AddAliasAsync(long domainId, MailAddress alias, MailAddress target, CancellationToken cancellationToken = default);
    Task RemoveAliasAsync(MailAddress alias, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<AddressEntry>> ListAliasesAsync(long? domainId = null, CancellationToken cancellationToken = default);

    Task<DistributionGroup> CreateGroupAsync(long domainId, MailAddress address, string displayName, CancellationToken cancellationToken = default);
    Task<DistributionGroup?> FindGroupAsync(MailAddress address, CancellationToken cancellationToken = default);
    Task<DistributionGroup?> GetGroupAsync(long groupId, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<DistributionGroup>> ListGroupsAsync(long? domainId = null, CancellationToken cancellationToken = default);
    Task AddGroupMemberAsync(long groupId, MailAddress member, CancellationToken cancellationToken = default);
    Task RemoveGroupMemberAsync(long groupId, MailAddress member, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<MailAddress>> ListGroupMembersAsync(long groupId, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of accounts in address-key order, after <paramref name="afterKey"/> (exclusive),
    /// optionally only of <paramref name="domainIds"/> (an empty set: none).
    /// </summary>
    Task<IReadOnlyList<Account>> ListAccountsPageAsync(IReadOnlyCollection<long>? domainIds, string? afterKey, int limit, CancellationToken cancellationToken = default);

    /// <summary>Sets the owner's address for security notices (empty: none).</summary>
    Task SetNotifyAddressAsync(long accountId, string address, CancellationToken cancellationToken = default);

    /// <summary>Changes the display name and quota; false if the account's credential version is no longer <paramref name="expectedVersion"/> (a lost update).</summary>
    Task<bool> UpdateAccountAsync(long accountId, string displayName, long quotaBytes, int expectedVersion, CancellationToken cancellationToken = default);

    // ---- API sessions and tokens, second factors (administration over HTTPS) ----

    /// <summary>Stores a session or token by the keyed hash of its secret (the secret itself never reaches the store).</summary>
    Task<ApiCredential> CreateApiCredentialAsync(NewApiCredential credential, DateTimeOffset now, CancellationToken cancellationToken = default);
    Task<ApiCredential?> FindApiCredentialAsync(byte[] lookupHash, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ApiCredential>> ListApiCredentialsAsync(long accountId, CancellationToken cancellationToken = default);
    /// <summary>Revokes one (<paramref name="id"/>) or all of an account's live sessions/tokens (of <paramref name="kind"/>, or every kind); returns how many.</summary>
    Task<int> RevokeApiCredentialsAsync(long accountId, long? id, ApiCredentialKind? kind, DateTimeOffset at, CancellationToken cancellationToken = default);
    Task TouchApiCredentialAsync(long id, DateTimeOffset at, CancellationToken cancellationToken = default);

    Task<SecondFactor?> GetSecondFactorAsync(long accountId, CancellationToken cancellationToken = default);
    /// <summary>Adds or replaces the account's second factor.</summary>
    Task SetSecondFactorAsync(SecondFactor factor, CancellationToken cancellationToken = default);
    Task RemoveSecondFactorAsync(long accountId, CancellationToken cancellationToken = default);
    /// <summary>Records that TOTP time step <paramref name="step"/> was used; false if it or a later one already was (a replay).</summary>
    Task<bool> AdvanceTotpStepAsync(long accountId, long step, CancellationToken cancellationToken = default);
    /// <summary>Replaces the recovery code list only if it is still <paramref name="expected"/> (one code, one use, across nodes).</summary>
    Task<bool> ReplaceRecoveryCodesAsync(long accountId, string expected, string replacement, CancellationToken cancellationToken = default);

    // ---- access grants (kept with the key material: their wraps are overwritten when they end) ----

    /// <summary>Stores a new grant; <see cref="ErrorKind.Conflict"/> if the id exists.</summary>
    Task AddAccessGrantAsync(AccessGrant grant, CancellationToken cancellationToken = default);
    Task<AccessGrant?> GetAccessGrantAsync(string id, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<AccessGrant>> ListAccessGrantsAsync(CancellationToken cancellationToken = default);
    /// <summary>
    /// Replaces a grant's state, approvals, holder version, wraps and end time if its state and approvals
    /// are still the expected ones (two officers approving at once, a revocation racing an activation);
    /// false otherwise.
    /// </summary>
    Task<bool> ReplaceAccessGrantAsync(AccessGrant expected, AccessGrant updated, CancellationToken cancellationToken = default);
}

/// <summary>
/// Mailboxes, messages, blobs and the change log.
/// <para>Invariants every implementation keeps:</para>
/// <list type="bullet">
/// <item>UID and MODSEQ are allocated per mailbox under a lock held until commit (RFC 9051 §2.3.1.1:
/// strictly ascending, never reused), never from a global sequence.</item>
/// <item>A blob is durable before the row that points to it commits.</item>
/// <item>A multi-mailbox delivery is one transaction: all copies or none.</item>
/// <item>Change notifications are published only after commit.</item>
/// </list>
/// </summary>
public interface IMailStore
{
    /// <summary>Creates a mailbox; <see cref="ErrorKind.Conflict"/> if the name key or role is taken under that parent/account.</summary>
    Task<Mailbox> CreateMailboxAsync(long accountId, long parentId, byte[] nameKey, byte[] sealedName, MailboxRole role, CancellationToken cancellationToken = default);
    Task<Mailbox?> GetMailboxAsync(long mailboxId, CancellationToken cancellationToken = default);
    Task<Mailbox?> FindMailboxAsync(long accountId, long parentId, byte[] nameKey, CancellationToken cancellationToken = default);
    Task<Mailbox?> FindMailboxByRoleAsync(long accountId, MailboxRole role, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<Mailbox>> ListMailboxesAsync(long accountId, CancellationToken cancellationToken = default);
    /// <summary>Moves/renames; the UIDVALIDITY of the renamed mailbox is kept (RFC 9051 §6.3.6).</summary>
    Task RenameMailboxAsync(long mailboxId, long newParentId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default);
    Task SetSubscribedAsync(long mailboxId, bool subscribed, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscriptions to names no mailbox has (a subscribed mailbox deleted, or a name subscribed before it
    /// exists: RFC 9051 §6.3.7, RFC 5258 \NonExistent): each the full name's lookup key and the name
    /// sealed under the account key. Subscriptions of existing mailboxes are on their rows.
    /// </summary>
    Task<IReadOnlyList<DetachedSubscription>> ListDetachedSubscriptionsAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>Adds a detached subscription (kept as it is when the name key is there already).</summary>
    Task AddDetachedSubscriptionAsync(long accountId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default);

    /// <summary>Removes a detached subscription; false when there was none under that key.</summary>
    Task<bool> RemoveDetachedSubscriptionAsync(long accountId, byte[] nameKey, CancellationToken cancellationToken = default);
    /// <summary>Deletes a mailbox and its messages (releasing their blobs).</summary>
    Task DeleteMailboxAsync(long mailboxId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="blob"/> once and appends it to every target mailbox in one
    /// transaction. Returns only after the result is durable.
    /// </summary>
    Task<IReadOnlyList<AppendResult>> DeliverAsync(NewBlob blob, IReadOnlyList<NewMessage> targets, CancellationToken cancellationToken = default);

    /// <summary>Copies messages to another mailbox of the same account, sharing blobs (UIDPLUS COPYUID order).</summary>
    Task<CopyResult> CopyMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken cancellationToken = default);
    /// <summary>Copy then expunge the source messages, atomically (RFC 6851).</summary>
    Task<CopyResult> MoveMessagesAsync(long sourceMailboxId, IReadOnlyList<uint> uids, long destinationMailboxId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<MessageRecord>> ListMessagesAsync(long mailboxId, UidRange range, CancellationToken cancellationToken = default);
    Task<MessageRecord?> GetMessageAsync(long mailboxId, uint uid, CancellationToken cancellationToken = default);

    /// <summary>
    /// What opening a mailbox needs and no more (IMAP SELECT of 100,000 messages): every UID in order,
    /// and the first UID without \Seen (0 if none). Reads the primary key, not the rows.
    /// </summary>
    Task<(uint[] Uids, uint FirstUnseen)> ListUidsAsync(long mailboxId, CancellationToken cancellationToken = default);

    /// <summary>
    /// \Recent (RFC 3501 §2.3.2): a message is recent in exactly one session, the first to see it. Claims
    /// every UID up to <paramref name="throughUid"/> that no session has claimed yet and returns the first
    /// UID that was unclaimed before this call (the caller's recent messages are those from it on).
    /// </summary>
    Task<uint> ClaimRecentAsync(long mailboxId, uint throughUid, CancellationToken cancellationToken = default);

    Task<FlagChangeResult> ChangeFlagsAsync(long mailboxId, IReadOnlyList<uint> uids, FlagChange change, CancellationToken cancellationToken = default);
    Task<ExpungeResult> ExpungeAsync(long mailboxId, IReadOnlyList<uint> uids, CancellationToken cancellationToken = default);
    Task<ChangeSet> GetChangesAsync(long mailboxId, long sinceModSeq, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes change-log entries older than <paramref name="before"/> in every mailbox, remembering per
    /// mailbox the highest MODSEQ removed (reported as <see cref="ChangeSet.PrunedModSeq"/>). Returns the
    /// number of entries removed.
    /// </summary>
    Task<int> PruneChangesAsync(DateTimeOffset before, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the wrapped content keys of messages (re-wrapping under the account's symmetric key,
    /// or key rotation). Not a visible change: MODSEQ does not move.
    /// </summary>
    Task UpdateWrappedKeysAsync(long mailboxId, IReadOnlyList<(uint Uid, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces wrapped content keys only where the row still holds <c>Expected</c> (what a read saw): a
    /// wrap written since (a key rotation, a refile, another node) is kept. Returns how many were replaced.
    /// Not a visible change: MODSEQ does not move.
    /// </summary>
    Task<int> ReplaceWrappedKeysAsync(long mailboxId, IReadOnlyList<(uint Uid, byte[] Expected, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default);

    /// <summary>
    /// A lease on an account's background key work (the re-wrap after login), so two nodes never do one
    /// account's at once: null if another holder, on this node or another, has it. Released on dispose,
    /// and by the store itself when its holder dies (PostgreSQL: a session advisory lock on a connection
    /// of its own; SQLite, which one node serves: in the process).
    /// </summary>
    Task<IAsyncDisposable?> TryLeaseAccountAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A folder's new key, in one transaction: its sealed name (which carries the key) and its messages'
    /// wrapped content keys (under it), so a crash leaves either all old or all new. Not a visible change.
    /// </summary>
    Task RekeyMailboxAsync(long mailboxId, byte[] nameKey, byte[] sealedName, IReadOnlyList<(uint Uid, byte[] WrappedKey)> keys, CancellationToken cancellationToken = default);

    Task<Keyword> GetOrCreateKeywordAsync(long accountId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default);
    /// <summary>Re-seals a keyword's name (key rotation).</summary>
    Task UpdateKeywordAsync(int keywordId, byte[] nameKey, byte[] sealedName, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<Keyword>> ListKeywordsAsync(long accountId, CancellationToken cancellationToken = default);

    Task<QuotaUsage> GetUsageAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>Opens a blob for reading (seekable).</summary>
    Task<Stream> OpenBlobAsync(long blobId, CancellationToken cancellationToken = default);
    Task<byte[]?> GetBlobMetadataAsync(long blobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The (sealed) blob metadata of a UID range's messages in one read, by UID ascending; messages whose blob
    /// has none are left out. The caller has the rows already: this reads nothing else.
    /// </summary>
    Task<IReadOnlyList<(uint Uid, byte[] Metadata)>> ListSealedMetadataAsync(long mailboxId, UidRange range, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes blobs no message points to, and blob files with no row that are older than
    /// <paramref name="grace"/> (a file younger than that may belong to a delivery in flight).
    /// </summary>
    Task<SweepResult> SweepOrphansAsync(TimeSpan grace, CancellationToken cancellationToken = default);
}
