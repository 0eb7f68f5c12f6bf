using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sealpost.Core;
using Sealpost.Core.Directory;
using Sealpost.Core.Security;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// The recovery private key split among security officers: any <c>k</c> of <c>n</c> shares rebuild it,
/// on an offline machine, for the time one <c>sealpost recovery open</c> takes. A share reads
/// <c>sealpost-recovery-share-v1:FINGERPRINT:K:X:Y</c>; the fingerprint names the recovery public key,
/// so a share of another key is refused before anything combines.
/// </summary>
public static class RecoveryShares
{
    private static readonly Hpke Hpke = new();

    public const string Prefix = "sealpost-recovery-share-v1";
    private const int MaxShares = 32;

    /// <summary>The first 16 hex digits of SHA-256 over the recovery public key: what shares and requests name.</summary>
    public static string ShortFingerprint(ReadOnlySpan<byte> publicKey) => Convert.ToHexStringLower(SHA256.HashData(publicKey))[..16];

    public static IReadOnlyList<string> Split(byte[] privateKey, int shares, int threshold)
    {
        if (threshold < 2)
        {
            throw SealpostException.Invalid("--threshold: at least 2 (one officer alone must not open anyone's mail)");
        }

        if (shares < threshold || shares > MaxShares)
        {
            throw SealpostException.Invalid($"--shares: between the threshold ({threshold}) and {MaxShares}");
        }

        var fingerprint = ShortFingerprint(Hpke.PublicKeyOf(privateKey));
        var split = Shamir.Split(privateKey, shares, threshold);
        var texts = split.Select(s => $"{Prefix}:{fingerprint}:{threshold}:{s.X}:{Base64Url(s.Y)}").ToList();
        foreach (var share in split)
        {
            CryptographicOperations.ZeroMemory(share.Y);
        }

        return texts;
    }

    /// <summary>Rebuilds the recovery private key from share texts; the error names what is wrong, never anything of the key.</summary>
    public static byte[] Combine(IEnumerable<string> texts)
    {
        var shares = new List<ShamirShare>();
        string? fingerprint = null;
        var threshold = 0;
        foreach (var text in texts)
        {
            var parts = text.Trim().Split(':');
            if (parts.Length != 5 || parts[0] != Prefix || !int.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k) || k < 2
                || !byte.TryParse(parts[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var x) || x == 0)
            {
                throw SealpostException.Invalid($"not a recovery share (one looks like '{Prefix}:FINGERPRINT:K:N:...')");
            }

            if (fingerprint is not null && (parts[1] != fingerprint || k != threshold))
            {
                throw SealpostException.Invalid($"share {x} belongs to another recovery key ({parts[1]}, not {fingerprint})");
            }

            fingerprint = parts[1];
            threshold = k;
            byte[] y;
            try
            {
                y = FromBase64Url(parts[4]);
            }
            catch (FormatException)
            {
                throw SealpostException.Invalid($"share {x} is damaged (check it was copied whole)");
            }

            if (y.Length != 32)
            {
                throw SealpostException.Invalid($"share {x} is damaged (check it was copied whole)");
            }

            if (shares.Any(s => s.X == x))
            {
                throw SealpostException.Invalid($"share {x} was given twice");
            }

            shares.Add(new ShamirShare(x, y));
        }

        if (fingerprint is null || shares.Count < threshold)
        {
            throw SealpostException.Invalid($"{shares.Count} recovery share(s) given; this key needs {Math.Max(threshold, 2)}");
        }

        var key = Shamir.Combine(shares.Take(threshold).ToList());
        shares.ForEach(s => CryptographicOperations.ZeroMemory(s.Y));
        if (ShortFingerprint(Hpke.PublicKeyOf(key)) != fingerprint)
        {
            CryptographicOperations.ZeroMemory(key);
            throw SealpostException.Invalid("the shares do not rebuild the recovery key they name (one of them is damaged)");
        }

        return key;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var body = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(body + new string('=', (4 - body.Length % 4) % 4));
    }
}

/// <summary>What recovery is for: the owner's own old mail after a reset, or another person's read-only access.</summary>
public static class RecoveryPurpose
{
    /// <summary>Old key versions handed back to the account's own current key (after a reset).</summary>
    public const string Restore = "restore";

    /// <summary>An account's key versions sealed to another person's key, for a two-officer access grant.</summary>
    public const string Grant = "grant";
}

/// <summary>A security officer's signature over an access grant's terms (made with their personal key, on their machine).</summary>
public sealed record GrantApproval(string Name, byte[] PublicKey, byte[] Signature);

/// <summary>An access grant as the officers' offline machine checks it: what was approved, and the approvals.</summary>
public sealed record RecoveryGrantTerms(string GrantId, string Justification, DateTimeOffset NotBefore, DateTimeOffset ExpiresAt, string RequestedBy, IReadOnlyList<GrantApproval> Approvals)
{
    private static readonly byte[] Label = "sealpost/access-grant/v1\0"u8.ToArray();

    /// <summary>What each approving officer signs: the grant, who reads whose mailbox, the window, and the justification's hash.</summary>
    public static byte[] Payload(string grantId, long granteeAccountId, long targetAccountId, DateTimeOffset notBefore, DateTimeOffset expiresAt, string justification)
    {
        var id = Encoding.UTF8.GetBytes(grantId);
        var buffer = new byte[Label.Length + 4 + id.Length + 8 * 4 + 32];
        var span = buffer.AsSpan();
        Label.CopyTo(span);
        var at = Label.Length;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(span[at..], id.Length);
        id.CopyTo(span[(at + 4)..]);
        at += 4 + id.Length;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(span[at..], granteeAccountId);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(span[(at + 8)..], targetAccountId);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(span[(at + 16)..], notBefore.ToUnixTimeMilliseconds());
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(span[(at + 24)..], expiresAt.ToUnixTimeMilliseconds());
        SHA256.HashData(Encoding.UTF8.GetBytes(justification)).CopyTo(span[(at + 32)..]);
        return buffer;
    }

    /// <summary>
    /// The distinct officers of <paramref name="chain"/> whose approvals verify over these terms (never the
    /// requester); an approval that does not verify, or whose signer is not an officer, is an error.
    /// </summary>
    public static IReadOnlyList<string> CheckApprovals(IReadOnlyList<TrustAnchor> chain, string grantId, long granteeAccountId, long targetAccountId,
        DateTimeOffset notBefore, DateTimeOffset expiresAt, string justification, string requestedBy, IEnumerable<GrantApproval> approvals)
    {
        var payload = Payload(grantId, granteeAccountId, targetAccountId, notBefore, expiresAt, justification);
        var officers = new List<string>();
        foreach (var approval in approvals)
        {
            var person = chain.Reverse().Select(a => a.Find(approval.PublicKey)).FirstOrDefault(p => p is not null);
            if (person is not { Role: TrustPerson.Officer })
            {
                throw new SealpostException(ErrorKind.Forbidden, "an approval is signed by someone who is not a security officer of the trust anchor");
            }

            if (!KeyVersionProof.Verify(approval.PublicKey, payload, approval.Signature))
            {
                throw new SealpostException(ErrorKind.Forbidden, $"{person.Name}'s approval is not over these terms");
            }

            if (string.Equals(person.Name, requestedBy, StringComparison.OrdinalIgnoreCase))
            {
                throw new SealpostException(ErrorKind.Forbidden, $"{person.Name} asked for this grant and cannot approve it");
            }

            if (!officers.Contains(person.Name, StringComparer.OrdinalIgnoreCase))
            {
                officers.Add(person.Name);
            }
        }

        return officers;
    }
}

/// <summary>One public key version of an account as a request carries it (public key and proof; never a private key).</summary>
public sealed record RecoveryRingEntry(int Version, byte[] PublicKey, byte[] Proof);

/// <summary>One key version to open: its public key and its private key as wrapped to the recovery key.</summary>
public sealed record RecoveryKeyEntry(int Version, byte[] PublicKey, int RecoveryKeyVersion, byte[] Wrap);

/// <summary>One key version handed back, sealed (HPKE) to the holder's key version.</summary>
public sealed record RecoveredKeyEntry(int Version, byte[] Wrap);

/// <summary>
/// What the server exports for the officers' offline machine: which account's key versions, for what,
/// and to whose key version they are handed; with the trust-anchor chain and the holder's key ring, so
/// the offline machine checks (against the anchor fingerprint the officers hold) that the holder's key
/// is endorsed and not one an operator made.
/// </summary>
public sealed record RecoveryRequest(
    string Format, string Id, string Purpose, string Address, long AccountId, string RequestedBy, DateTimeOffset RequestedAt,
    string HolderAddress, long HolderAccountId, int HolderVersion, IReadOnlyList<RecoveryRingEntry> HolderRing,
    IReadOnlyList<RecoveryKeyEntry> Keys, string Anchors, RecoveryGrantTerms? Grant = null)
{
    public const string FormatName = "sealpost-recovery-request-v1";

    public string ToJson() => JsonSerializer.Serialize(this, RecoveryJson.Options);

    public static RecoveryRequest FromJson(string json) =>
        RecoveryJson.Read<RecoveryRequest>(json, FormatName, r => r.Format, r => r.Id is not null && r.Purpose is not null && r.Address is not null && r.HolderRing is not null && r.Keys is not null && r.Anchors is not null
            && r.HolderRing.All(e => e?.PublicKey is not null && e.Proof is not null) && r.Keys.All(k => k?.PublicKey is not null && k.Wrap is not null));
}

/// <summary>What the offline machine gives back: the named key versions sealed to the holder's key version, and nothing else.</summary>
public sealed record RecoveryResponse(string Format, string RequestId, long AccountId, long HolderAccountId, int HolderVersion, IReadOnlyList<RecoveredKeyEntry> Keys)
{
    public const string FormatName = "sealpost-recovery-response-v1";

    public string ToJson() => JsonSerializer.Serialize(this, RecoveryJson.Options);

    public static RecoveryResponse FromJson(string json) =>
        RecoveryJson.Read<RecoveryResponse>(json, FormatName, r => r.Format, r => r.RequestId is not null && r.Keys is not null && r.Keys.All(k => k?.Wrap is not null));
}

/// <summary>Opening a request on the officers' offline machine, and the seal both sides agree on.</summary>
public static class RecoveryOpening
{
    private static readonly byte[] Info = "sealpost/recovered-key/v1"u8.ToArray();
    private static readonly Hpke Hpke = new();

    /// <summary>
    /// Checks <paramref name="request"/> and produces its response. Refused: a chain that does not start
    /// at <paramref name="anchorFingerprint"/> or does not verify; a holder key version that is not
    /// endorsed under it; a restore handed to another account; a wrap the recovery key does not open or
    /// that opens to a key other than the version's public key.
    /// </summary>
    public static async Task<RecoveryResponse> OpenAsync(RecoveryRequest request, byte[] recoveryPrivateKey, string anchorFingerprint, CancellationToken ct = default)
    {
        IReadOnlyList<TrustAnchor> chain;
        try
        {
            chain = TrustAnchor.ChainFromJson(request.Anchors);
        }
        catch (SealpostException ex)
        {
            throw SealpostException.Invalid($"the request's trust anchors are damaged: {ex.Message}");
        }

        if (chain.Count == 0 || !string.Equals(chain[0].Fingerprint, anchorFingerprint.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            throw new SealpostException(ErrorKind.Forbidden, $"the request's trust anchor is not the one you pinned ({(chain.Count == 0 ? "none" : chain[0].Fingerprint)}, not {anchorFingerprint.Trim()}): refused");
        }

        if (TrustAnchor.CheckChain(chain) is { } broken)
        {
            throw new SealpostException(ErrorKind.Forbidden, $"the request's trust-anchor chain does not verify: {broken}");
        }

        if (request.Purpose == RecoveryPurpose.Restore && (request.HolderAccountId != request.AccountId || !string.Equals(request.HolderAddress, request.Address, StringComparison.OrdinalIgnoreCase)))
        {
            throw new SealpostException(ErrorKind.Forbidden, "a restore hands keys back to the same account only");
        }

        if (request.Purpose == RecoveryPurpose.Grant)
        {
            // Two officers signed these very terms, offline, with their personal keys: an operator who
            // edits the grantee, the window or the justification breaks their signatures.
            var grant = request.Grant ?? throw SealpostException.Invalid("a grant request without the grant's terms");
            if (request.HolderAccountId == request.AccountId)
            {
                throw new SealpostException(ErrorKind.Forbidden, "a grant is for another person than the mailbox's owner");
            }

            if (grant.ExpiresAt <= DateTimeOffset.UtcNow)
            {
                throw new SealpostException(ErrorKind.Forbidden, $"the grant expired at {grant.ExpiresAt:yyyy-MM-dd HH:mm} UTC");
            }

            var officers = RecoveryGrantTerms.CheckApprovals(chain, grant.GrantId, request.HolderAccountId, request.AccountId, grant.NotBefore, grant.ExpiresAt, grant.Justification, grant.RequestedBy, grant.Approvals);
            if (officers.Count < 2)
            {
                throw new SealpostException(ErrorKind.Forbidden, $"the grant carries {officers.Count} officer's approval; two different officers approve a grant");
            }
        }
        else if (request.Purpose != RecoveryPurpose.Restore)
        {
            throw SealpostException.Invalid($"unknown purpose '{request.Purpose}'");
        }

        var trust = KeyTrust.ForChain(chain);
        var ring = request.HolderRing.Select(e => new AccountKey(request.HolderAccountId, e.Version, e.PublicKey, e.Proof, DateTimeOffset.UnixEpoch)).ToList();
        var states = await trust.CheckAsync(request.HolderAccountId, ring, ct);
        var holder = states.FirstOrDefault(s => s.Version == request.HolderVersion);
        if (holder is not { State: KeyVersionState.Endorsed })
        {
            throw new SealpostException(ErrorKind.Forbidden, $"{request.HolderAddress} key version {request.HolderVersion} is not endorsed under this trust anchor ({holder?.Reason ?? "not in the request"}): refused");
        }

        var recoveryPublic = Hpke.PublicKeyOf(recoveryPrivateKey);
        var anchored = chain.SelectMany(a => a.RecoveryKeys).ToList();
        var keys = new List<RecoveredKeyEntry>();
        foreach (var entry in request.Keys)
        {
            if (!anchored.Any(k => k.Version == entry.RecoveryKeyVersion && k.PublicKey.AsSpan().SequenceEqual(recoveryPublic)))
            {
                throw SealpostException.Invalid($"key version {entry.Version} is wrapped to recovery key v{entry.RecoveryKeyVersion}, not the one these shares rebuild");
            }

            byte[] privateKey;
            try
            {
                privateKey = AccountVault.OpenRecoveryWrap(recoveryPrivateKey, new RecoveryWrap(request.AccountId, entry.Version, entry.RecoveryKeyVersion, entry.Wrap));
            }
            catch (CryptographicException)
            {
                throw SealpostException.Invalid($"key version {entry.Version}'s recovery wrap does not open (damaged, or not this account's)");
            }

            try
            {
                if (!CryptographicOperations.FixedTimeEquals(Hpke.PublicKeyOf(privateKey), entry.PublicKey))
                {
                    throw SealpostException.Invalid($"key version {entry.Version}'s recovery wrap holds another key than its public key");
                }

                keys.Add(new RecoveredKeyEntry(entry.Version, Seal(ring.First(k => k.Version == request.HolderVersion).PublicKey, request.Id, request.AccountId, entry.Version, request.HolderAccountId, request.HolderVersion, privateKey)));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(privateKey);
            }
        }

        return new RecoveryResponse(RecoveryResponse.FormatName, request.Id, request.AccountId, request.HolderAccountId, request.HolderVersion, keys);
    }

    private static byte[] Aad(string requestId, long accountId, int version, long holderAccountId, int holderVersion) =>
        Aead.Context(Info, accountId, version, [.. BitConverter.GetBytes(holderAccountId), .. BitConverter.GetBytes(holderVersion), .. Encoding.UTF8.GetBytes(requestId)]);

    internal static byte[] Seal(byte[] holderPublicKey, string requestId, long accountId, int version, long holderAccountId, int holderVersion, byte[] privateKey)
    {
        var (enc, ct) = Hpke.Seal(holderPublicKey, Info, Aad(requestId, accountId, version, holderAccountId, holderVersion), privateKey);
        return [.. enc, .. ct];
    }

    /// <summary>Opens a handed-back key version with the holder's private key (what the holder's login does).</summary>
    internal static byte[] Open(byte[] holderPrivateKey, string requestId, long accountId, int version, long holderAccountId, int holderVersion, byte[] wrap)
    {
        if (wrap.Length < Hpke.EncLength + Hpke.TagLength)
        {
            throw new CryptographicException("recovered key wrap too short");
        }

        return Hpke.Open(holderPrivateKey, wrap.AsSpan(0, Hpke.EncLength), Info, Aad(requestId, accountId, version, holderAccountId, holderVersion), wrap.AsSpan(Hpke.EncLength));
    }
}

/// <summary>The credential a handed-back key version is stored as (see <see cref="CredentialKind.RecoveredKey"/>).</summary>
public static class RecoveredKeyCredential
{
    private const string Prefix = "recovered:";

    public static NewCredential For(RecoveryResponse response, RecoveredKeyEntry key) =>
        new(CredentialKind.RecoveredKey, $"{Prefix}{response.HolderVersion}:{response.RequestId}", "", key.Version, key.Wrap);

    /// <summary>The holder version and request id a recovered-key credential names; null for a damaged label.</summary>
    public static (int HolderVersion, string RequestId)? Parse(Credential credential)
    {
        var parts = credential.Label.Split(':', 3);
        return credential.Kind == CredentialKind.RecoveredKey && parts.Length == 3 && parts[0] + ":" == Prefix
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var holder)
            ? (holder, parts[2]) : null;
    }
}

/// <summary>An active access grant's keys as stored on the grant: the target's key versions sealed to the grantee's key version.</summary>
public static class GrantKeys
{
    private sealed record Stored(string RequestId, IReadOnlyList<RecoveredKeyEntry> Keys);

    public static byte[] Encode(RecoveryResponse response) => JsonSerializer.SerializeToUtf8Bytes(new Stored(response.RequestId, response.Keys), RecoveryJson.Options);

    /// <summary>
    /// The granted account's keys, opened with the grantee's own session (null if the grantee no longer
    /// holds the version they were sealed to, or none opens): each checked against the target's public ring.
    /// </summary>
    public static AccountSession? Open(IAccountSession grantee, AccessGrant grant, IReadOnlyList<AccountKey> targetRing)
    {
        if (grant.Wraps.Length == 0 || ((AccountSession)grantee).Key(grant.HolderVersion) is not { } holder)
        {
            return null;
        }

        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(grant.Wraps, RecoveryJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }

        var materials = new List<AccountKeyMaterial>();
        foreach (var key in stored?.Keys ?? [])
        {
            try
            {
                var privateKey = RecoveryOpening.Open(holder.PrivateKey, stored!.RequestId, grant.TargetAccountId, key.Version, grant.GranteeAccountId, grant.HolderVersion, key.Wrap);
                if (targetRing.FirstOrDefault(k => k.Version == key.Version) is { } listed && CryptographicOperations.FixedTimeEquals(Hpke.PublicKeyOf(privateKey), listed.PublicKey))
                {
                    materials.Add(AccountKeyMaterial.From(key.Version, privateKey));
                }

                CryptographicOperations.ZeroMemory(privateKey);
            }
            catch (CryptographicException)
            {
                // a damaged or foreign wrap opens nothing
            }
        }

        return materials.Count == 0 ? null : new AccountSession(grant.TargetAccountId, materials);
    }

    private static readonly Hpke Hpke = new();
}

internal static class RecoveryJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static T Read<T>(string json, string format, Func<T, string> formatOf, Func<T, bool> complete)
        where T : class
    {
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException ex)
        {
            throw SealpostException.Invalid($"not a {format} file: {ex.Message.Split('.')[0]}");
        }

        if (value is null || formatOf(value) != format || !complete(value))
        {
            throw SealpostException.Invalid($"not a {format} file");
        }

        return value;
    }
}
