using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core;
using Sealpost.Core.Directory;

namespace Sealpost.Crypto.Vault;

public enum KeyVersionState
{
    /// <summary>Chains to the trust anchor: mail may be sealed to it.</summary>
    Endorsed,

    /// <summary>Not yet vouched for (waits for a requester, an approver, or an earlier version's approval).</summary>
    Pending,

    /// <summary>Carries a signature that does not verify or a signer the trust anchor does not know: forged or damaged.</summary>
    Refused,
}

public sealed record KeyVersionStatus(long AccountId, int Version, KeyVersionState State, string Reason, byte[] PublicKey, byte[]? SigningPublicKey)
{
    /// <summary>"sha256:" and the hex of the version's X25519 public key's hash: what the audit trail records.</summary>
    public string Fingerprint => SigningSlips.Fingerprint(PublicKey);
}

/// <summary>
/// Decides which account key versions mail may be sealed to (ARCHITECTURE §3, "key versions nobody
/// forges alone"). A version is endorsed when signed by the version before it (which must itself be
/// endorsed), or by two different people of the trust anchor: a requester (administrator or officer)
/// and an approving officer. Nothing on the node signs for them: the directory key vouches for nothing
/// here. The anchor chain lives in the keystore; test rigs and --dev folders hold a local pair of
/// officer keys that endorse at once, which production refuses.
/// </summary>
public sealed class KeyTrust
{
    public const string AnchorsEntry = "trust-anchors";
    public const string LocalOfficersLabel = "sealpost-local-officers-v1";

    private readonly Keystore? _keystore;
    private readonly PersonalKey[]? _local;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, KeyVersionStatus[]> _checked = new(StringComparer.Ordinal);
    private IReadOnlyList<TrustAnchor> _chain;
    private DateTimeOffset _loadedAt;

    private KeyTrust(Keystore? keystore, IReadOnlyList<TrustAnchor> chain, PersonalKey[]? local, ILogger logger)
    {
        _keystore = keystore;
        _chain = chain;
        _local = local;
        _logger = logger;
        _loadedAt = DateTimeOffset.UtcNow;
    }

    public IReadOnlyList<TrustAnchor> Chain => _chain;

    /// <summary>A chain checked elsewhere (an officer's offline machine): judges key versions against it alone, never reloads.</summary>
    private static InvalidOperationException Offline() => new("a chain judged offline is not changed");

    public static KeyTrust ForChain(IReadOnlyList<TrustAnchor> chain) => new(null, chain, null, NullLogger.Instance);

    /// <summary>False until the officers pin a trust anchor: nothing is sealed and the server does not start.</summary>
    public bool IsPinned => _chain.Count > 0;

    public TrustAnchor Current => IsPinned ? _chain[^1] : throw NotPinned();

    /// <summary>The fingerprint pinned at init: generation 1's.</summary>
    public string PinnedFingerprint => IsPinned ? _chain[0].Fingerprint : throw NotPinned();

    public static SealpostException NotPinned() =>
        new(ErrorKind.Conflict, "no trust anchor is pinned in this data folder: the security officers pin one with 'sealpost trust-anchor pin FILE'");

    /// <summary>True where a local officer pair endorses every version at once (test rigs, --dev): not the two-person rule.</summary>
    public bool EndorsesLocally => _local is not null;

    /// <summary>
    /// Opens the anchor chain from the keystore. Where there is none and <paramref name="localOfficersFile"/>
    /// is given (test rigs, --dev), a local officer pair is made (or read) and pinned with <paramref name="recoveryPublicKey"/>.
    /// </summary>
    public static async Task<KeyTrust> OpenAsync(Keystore keystore, string? localOfficersFile, byte[]? recoveryPublicKey, ILogger logger, CancellationToken ct = default)
    {
        PersonalKey[]? local = null;
        if (localOfficersFile is not null)
        {
            byte[] seeds;
            if (File.Exists(localOfficersFile))
            {
                seeds = KeyFiles.Read(localOfficersFile, LocalOfficersLabel, 64);
            }
            else
            {
                seeds = RandomNumberGenerator.GetBytes(64);
                KeyFiles.Write(localOfficersFile, LocalOfficersLabel, seeds);
            }

            local = [new PersonalKey(seeds.AsSpan(0, 32)), new PersonalKey(seeds.AsSpan(32))];
            CryptographicOperations.ZeroMemory(seeds);
        }

        var chain = await LoadChainAsync(keystore, logger, ct);
        var pinnedNow = false;
        if (chain.Count == 0 && local is not null && recoveryPublicKey is not null)
        {
            var genesis = new TrustAnchor(1, 2, [new TrustPerson("local officer 1", TrustPerson.Officer, local[0].PublicKey), new TrustPerson("local officer 2", TrustPerson.Officer, local[1].PublicKey)],
                [new TrustedRecoveryKey(1, recoveryPublicKey)], null, []).SignedBy(local[0]).SignedBy(local[1]);
            await PinAsync(keystore, genesis, ct);
            chain = [genesis];
            pinnedNow = true;
        }

        if (local is not null && (chain.Count == 0 || !local.All(k => chain[^1].Find(k.PublicKey) is { Role: TrustPerson.Officer })))
        {
            local = null; // the officers pinned their own anchor: the local pair vouches for nothing
        }

        return new KeyTrust(keystore, chain, local, logger) { PinnedLocallyNow = pinnedNow };
    }

    /// <summary>True when this open pinned a local officer pair's anchor (a folder made before trust anchors: its versions wait for it).</summary>
    public bool PinnedLocallyNow { get; private init; }

    /// <summary>Pins generation 1 in a data folder that has none; refuses a folder that has one.</summary>
    public static async Task PinAsync(Keystore keystore, TrustAnchor genesis, CancellationToken ct = default)
    {
        if (TrustAnchor.CheckChain([genesis]) is { } problem)
        {
            throw SealpostException.Invalid("the trust anchor is refused: " + problem);
        }

        if (await keystore.GetSecretAsync(AnchorsEntry, ct) is not null)
        {
            throw SealpostException.Conflict("a trust anchor is already pinned; a change needs 'sealpost trust-anchor update' with the officers' signatures");
        }

        await keystore.PutSecretAsync(AnchorsEntry, Encoding.UTF8.GetBytes(TrustAnchor.ChainToJson([genesis])), ct);
    }

    /// <summary>Pins generation 1 here (a data folder without an anchor) and uses it from now on.</summary>
    public async Task PinAsync(TrustAnchor genesis, CancellationToken ct = default)
    {
        await PinAsync(_keystore ?? throw Offline(), genesis, ct);
        _chain = [genesis];
        _checked.Clear();
    }

    /// <summary>Appends the next generation (signed by the threshold of the current officers).</summary>
    public async Task<TrustAnchor> UpdateAsync(TrustAnchor next, CancellationToken ct = default)
    {
        var chain = await LoadChainAsync(_keystore ?? throw Offline(), _logger, ct);
        var extended = chain.Append(next).ToList();
        if (TrustAnchor.CheckChain(extended) is { } problem)
        {
            throw SealpostException.Invalid("the new trust anchor is refused: " + problem);
        }

        await _keystore.PutSecretAsync(AnchorsEntry, Encoding.UTF8.GetBytes(TrustAnchor.ChainToJson(extended)), ct);
        _chain = extended;
        _checked.Clear();
        return next;
    }

    /// <summary>The chain as stored, cut at its first generation that fails its signatures (a security event).</summary>
    private static async Task<IReadOnlyList<TrustAnchor>> LoadChainAsync(Keystore keystore, ILogger logger, CancellationToken ct)
    {
        if (await keystore.GetSecretAsync(AnchorsEntry, ct) is not { } bytes)
        {
            return [];
        }

        var stored = TrustAnchor.ChainFromJson(Encoding.UTF8.GetString(bytes));
        for (var length = stored.Count; length > 0; length--)
        {
            var prefix = stored.Take(length).ToList();
            if (TrustAnchor.CheckChain(prefix) is null)
            {
                if (length < stored.Count)
                {
                    VaultLog.TrustAnchorRefused(logger, length + 1);
                }

                return prefix;
            }
        }

        VaultLog.TrustAnchorRefused(logger, 1);
        throw new SealpostException(ErrorKind.Forbidden, "the pinned trust anchor fails its officers' signatures");
    }

    /// <summary>How often the chain is read again (another node may have taken a new generation).</summary>
    internal TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Reads the chain again if another node may have updated it (at most every <see cref="RefreshInterval"/>).</summary>
    private async Task RefreshAsync(CancellationToken ct)
    {
        if (_keystore is null || DateTimeOffset.UtcNow - _loadedAt < RefreshInterval)
        {
            return;
        }

        _loadedAt = DateTimeOffset.UtcNow;
        var chain = await LoadChainAsync(_keystore, _logger, ct);
        // Only a longer chain that starts with the one in force is taken: a different first generation
        // is a substitution, refused for as long as this process runs.
        if (chain.Count > _chain.Count && (_chain.Count == 0 || chain[_chain.Count - 1].Fingerprint == _chain[^1].Fingerprint))
        {
            _chain = chain;
            _checked.Clear();
        }
        else if (_chain.Count > 0 && (chain.Count < _chain.Count || chain[_chain.Count - 1].Fingerprint != _chain[^1].Fingerprint))
        {
            VaultLog.TrustAnchorRefused(_logger, Math.Max(1, Math.Min(chain.Count, _chain.Count)));
        }
    }

    /// <summary>The state of every version of one account's ring, oldest first.</summary>
    public async Task<IReadOnlyList<KeyVersionStatus>> CheckAsync(long accountId, IReadOnlyList<AccountKey> ring, CancellationToken ct = default)
    {
        await RefreshAsync(ct);
        var ordered = ring.OrderBy(k => k.Version).ToList();
        var cacheKey = CacheKey(accountId, ordered);
        if (_checked.TryGetValue(cacheKey, out var known))
        {
            return known;
        }

        var result = new KeyVersionStatus[ordered.Count];
        for (var i = 0; i < ordered.Count; i++)
        {
            var previous = i > 0 && ordered[i - 1].Version == ordered[i].Version - 1 ? result[i - 1] : null;
            result[i] = CheckOne(accountId, ordered[i], previous);
            if (result[i].State == KeyVersionState.Refused)
            {
                VaultLog.KeyVersionRefused(_logger, accountId, ordered[i].Version, result[i].Reason);
            }
        }

        if (_checked.Count > 50_000)
        {
            _checked.Clear();
        }

        _checked[cacheKey] = result;
        return result;
    }

    /// <summary>The newest version that is not refused, if it is endorsed: what mail is sealed to; null (deliveries wait) otherwise.</summary>
    public async Task<AccountKey?> SealingKeyAsync(long accountId, IReadOnlyList<AccountKey> ring, CancellationToken ct = default)
    {
        if (!IsPinned)
        {
            await RefreshAsync(ct);
            if (!IsPinned)
            {
                return null;
            }
        }

        // A refused version (forged or damaged) is passed over; a pending one stops the search: mail
        // waits for its endorsement rather than going to an older version its owner may no longer hold.
        var states = await CheckAsync(accountId, ring, ct);
        var newest = states.Reverse().FirstOrDefault(s => s.State != KeyVersionState.Refused);
        return newest is { State: KeyVersionState.Endorsed } ? ring.First(k => k.Version == newest.Version) : null;
    }

    private KeyVersionStatus CheckOne(long accountId, AccountKey key, KeyVersionStatus? previous)
    {
        KeyVersionStatus Status(KeyVersionState state, string reason, byte[]? signing = null) => new(accountId, key.Version, state, reason, key.PublicKey, signing);

        if (KeyVersionProof.Decode(key.Signature) is not { } proof)
        {
            return key.Signature.Length == 64
                ? Status(KeyVersionState.Pending, "made before key versions were endorsed: needs a requester and an approving officer")
                : Status(KeyVersionState.Refused, "its proof is damaged");
        }

        if (proof.SigningPublicKey.Length != 32 || key.PublicKey.Length != 32)
        {
            return Status(KeyVersionState.Refused, "its proof is damaged");
        }

        bool byPrevious = false;
        TrustPerson? requester = null, approver = null;
        byte[]? requesterKey = null;
        foreach (var e in proof.Endorsements)
        {
            var payload = KeyVersionProof.Payload(accountId, key.Version, key.PublicKey, proof.SigningPublicKey, e.Kind);
            if (!KeyVersionProof.Verify(e.SignerPublicKey, payload, e.Signature))
            {
                return Status(KeyVersionState.Refused, $"its {Describe(e.Kind)} signature does not verify", proof.SigningPublicKey);
            }

            switch (e.Kind)
            {
                case EndorsementKind.PreviousVersion:
                    if (previous?.SigningPublicKey is not { } expected || !expected.AsSpan().SequenceEqual(e.SignerPublicKey) || expected.AsSpan().SequenceEqual(KeyVersionProof.NoSigningKey))
                    {
                        return Status(KeyVersionState.Refused, "it claims the previous version's signature, signed by another key", proof.SigningPublicKey);
                    }

                    byPrevious = previous.State == KeyVersionState.Endorsed;
                    break;
                case EndorsementKind.Requester:
                    requester = FindPerson(e.SignerPublicKey, officerOnly: false);
                    requesterKey = e.SignerPublicKey;
                    if (requester is null)
                    {
                        return Status(KeyVersionState.Refused, "its requester is not in the trust anchor", proof.SigningPublicKey);
                    }

                    break;
                case EndorsementKind.Approver:
                    approver = FindPerson(e.SignerPublicKey, officerOnly: true);
                    if (approver is null)
                    {
                        return Status(KeyVersionState.Refused, "its approver is not an officer of the trust anchor", proof.SigningPublicKey);
                    }

                    if (requesterKey is not null && requesterKey.AsSpan().SequenceEqual(e.SignerPublicKey))
                    {
                        return Status(KeyVersionState.Refused, "one person signed as both requester and approver", proof.SigningPublicKey);
                    }

                    break;
            }
        }

        if (requester is not null && approver is not null)
        {
            if (string.Equals(requester.Name, approver.Name, StringComparison.OrdinalIgnoreCase) || requester.PublicKey.AsSpan().SequenceEqual(approver.PublicKey))
            {
                return Status(KeyVersionState.Refused, "one person signed as both requester and approver", proof.SigningPublicKey);
            }

            return Status(KeyVersionState.Endorsed, $"requested by {requester.Name}, approved by {approver.Name}", proof.SigningPublicKey);
        }

        if (byPrevious)
        {
            return Status(KeyVersionState.Endorsed, $"signed by version {key.Version - 1}", proof.SigningPublicKey);
        }

        if (proof.Endorsements.Any(e => e.Kind == EndorsementKind.PreviousVersion))
        {
            return Status(KeyVersionState.Pending, $"signed by version {key.Version - 1}, which is not endorsed yet", proof.SigningPublicKey);
        }

        return Status(KeyVersionState.Pending, requester is not null ? $"requested by {requester.Name}; waits for an officer's approval" : approver is not null ? $"approved by {approver.Name}; waits for a requester" : "waits for a requester and an approving officer", proof.SigningPublicKey);
    }

    private static string Describe(EndorsementKind kind) => kind switch
    {
        EndorsementKind.PreviousVersion => "previous version's",
        EndorsementKind.Requester => "requester's",
        _ => "approver's",
    };

    // A person's key counts if any generation of the chain names them (an endorsement made before they left stays valid).
    private TrustPerson? FindPerson(byte[] publicKey, bool officerOnly) =>
        _chain.Reverse().Select(a => a.Find(publicKey)).FirstOrDefault(p => p is not null && (!officerOnly || p.Role == TrustPerson.Officer));

    /// <summary>A new version's proof with no endorsement yet; where a local officer pair exists it endorses at once.</summary>
    public KeyVersionProof NewProof(long accountId, int version, byte[] publicKey, byte[] signingPublicKey) =>
        EndorseLocally(accountId, version, publicKey, new KeyVersionProof(signingPublicKey, []));

    /// <summary>Adds the local officer pair's endorsements (test rigs, --dev); otherwise returns <paramref name="proof"/> unchanged.</summary>
    public KeyVersionProof EndorseLocally(long accountId, int version, byte[] publicKey, KeyVersionProof proof)
    {
        if (_local is null)
        {
            return proof;
        }

        return proof
            .With(Sign(_local[0], EndorsementKind.Requester, accountId, version, publicKey, proof.SigningPublicKey))
            .With(Sign(_local[1], EndorsementKind.Approver, accountId, version, publicKey, proof.SigningPublicKey));
    }

    /// <summary>An endorsement by a person's key (what the CLI makes on the person's machine).</summary>
    public static Endorsement Sign(PersonalKey person, EndorsementKind kind, long accountId, int version, byte[] publicKey, byte[] signingPublicKey) =>
        new(kind, person.PublicKey, person.Sign(KeyVersionProof.Payload(accountId, version, publicKey, signingPublicKey, kind)));

    private static string CacheKey(long accountId, IReadOnlyList<AccountKey> ring)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes(accountId));
        foreach (var key in ring)
        {
            hash.AppendData(BitConverter.GetBytes(key.Version));
            hash.AppendData(key.PublicKey);
            hash.AppendData(BitConverter.GetBytes(key.Signature.Length));
            hash.AppendData(key.Signature);
        }

        return Convert.ToBase64String(hash.GetHashAndReset());
    }
}
