using System.Security.Cryptography;
using System.Text;
using Sealpost.Core.Security;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// One unlocked key version of an account: the X25519 private key and the symmetric keys derived
/// from it (HKDF), each for one purpose.
/// </summary>
internal sealed class AccountKeyMaterial : IDisposable
{
    private static readonly byte[] Salt = "sealpost/account/v1"u8.ToArray();

    private AccountKeyMaterial(int version, byte[] privateKey, byte[] publicKey, byte[] contentWrapKey, byte[] namesKey, byte[] nameLookupKey)
    {
        Version = version;
        PrivateKey = privateKey;
        PublicKey = publicKey;
        ContentWrapKey = contentWrapKey;
        NamesKey = namesKey;
        NameLookupKey = nameLookupKey;
    }

    public int Version { get; }
    public byte[] PrivateKey { get; }
    public byte[] PublicKey { get; }
    /// <summary>Re-wraps delivered content keys, so steady-state reads are symmetric only.</summary>
    public byte[] ContentWrapKey { get; }
    /// <summary>Seals folder and keyword names.</summary>
    public byte[] NamesKey { get; }
    /// <summary>Keys the name lookup hash (per account, so a dictionary attack needs the account key).</summary>
    public byte[] NameLookupKey { get; }

    private Primitives.Hpke.RecipientKey? _recipient;

    /// <summary>
    /// The private key imported once for HPKE opens (in libsodium's guarded memory): a first read of
    /// many delivered messages imports it once, not once per message.
    /// </summary>
    public Primitives.Hpke.RecipientKey Recipient
    {
        get
        {
            if (Volatile.Read(ref _recipient) is { } imported)
            {
                return imported;
            }

            var made = new Primitives.Hpke.RecipientKey(PrivateKey, PublicKey);
            if (Interlocked.CompareExchange(ref _recipient, made, null) is { } other)
            {
                made.Dispose();
                return other;
            }

            return made;
        }
    }

    private const int MaxBatchKeys = 4096;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, (byte[] Sealed, byte[] Key)> _batchKeys = new();

    /// <summary>
    /// A delivery batch key (wrap kind 4), opened with HPKE on first use and kept for this session: the
    /// messages of one batch cost one X25519 together. Cached by batch id and the sealed bytes both, so a
    /// wrap that reuses an id with other sealed bytes is opened (and fails) on its own. Past
    /// <see cref="MaxBatchKeys"/> a key is not kept: <paramref name="kept"/> false, and the caller zeroes it
    /// after use (a kept key is zeroed only when the session ends, never while another read may use it).
    /// </summary>
    public byte[] BatchKey(ReadOnlySpan<byte> batchId, ReadOnlySpan<byte> sealedKey, Func<byte[], byte[], byte[]> open, out bool kept)
    {
        var id = new Guid(batchId);
        if (_batchKeys.TryGetValue(id, out var known) && known.Sealed.AsSpan().SequenceEqual(sealedKey))
        {
            kept = true;
            return known.Key;
        }

        var key = open(batchId.ToArray(), sealedKey.ToArray());
        kept = _batchKeys.Count < MaxBatchKeys && _batchKeys.TryAdd(id, (sealedKey.ToArray(), key));
        return key;
    }

    private void ForgetBatchKeys()
    {
        foreach (var (_, entry) in _batchKeys)
        {
            CryptographicOperations.ZeroMemory(entry.Key);
        }

        _batchKeys.Clear();
    }

    public static AccountKeyMaterial From(int version, byte[] privateKey)
    {
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, privateKey, Salt);
        var material = new AccountKeyMaterial(version, privateKey.ToArray(), Primitives.Hpke.PublicKeyOf(privateKey),
            HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, "content-wrap"u8.ToArray()),
            HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, "names"u8.ToArray()),
            HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, "name-lookup"u8.ToArray()));
        CryptographicOperations.ZeroMemory(prk);
        return material;
    }

    public AccountKeyMaterial Clone() => new(Version, PrivateKey.ToArray(), PublicKey.ToArray(), ContentWrapKey.ToArray(), NamesKey.ToArray(), NameLookupKey.ToArray());

    public void Dispose()
    {
        ForgetBatchKeys();
        _recipient?.Dispose();
        CryptographicOperations.ZeroMemory(PrivateKey);
        CryptographicOperations.ZeroMemory(ContentWrapKey);
        CryptographicOperations.ZeroMemory(NamesKey);
        CryptographicOperations.ZeroMemory(NameLookupKey);
    }
}

/// <summary>An unlocked account. Owns copies of its key material and zeroes them on dispose.</summary>
public sealed class AccountSession : IAccountSession
{
    private readonly Dictionary<int, AccountKeyMaterial> _keys;

    internal AccountSession(long accountId, IEnumerable<AccountKeyMaterial> keys)
    {
        AccountId = accountId;
        _keys = keys.ToDictionary(k => k.Version);
        CurrentKeyVersion = _keys.Keys.Max();
        Names = new SealedNameProtector(this);
    }

    /// <summary>A session from a raw private key: one the security officers recovered offline, or a tool's own.</summary>
    public static AccountSession FromPrivateKey(long accountId, int version, byte[] privateKey) => new(accountId, [AccountKeyMaterial.From(version, privateKey)]);

    /// <summary>A session of its own over copies of these keys (background work that outlives the caller's session).</summary>
    internal AccountSession Copy() => new(AccountId, _keys.Values.Select(k => k.Clone())) { AfterReset = AfterReset };

    public long AccountId { get; }

    public int CurrentKeyVersion { get; }

    public IReadOnlyCollection<int> KeyVersions => _keys.Keys;

    public INameProtector Names { get; }

    public bool AfterReset { get; internal init; }

    internal AccountKeyMaterial Current => _keys[CurrentKeyVersion];

    internal AccountKeyMaterial? Key(int version) => _keys.GetValueOrDefault(version);

    internal IEnumerable<AccountKeyMaterial> AllKeys => _keys.Values;

    // Folder keys this session has opened, by mailbox id. A folder keeps its key for life (a rename
    // or a rotation re-wraps the same key), so an entry never goes stale while the session lasts.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, byte[]> _folderKeys = new();

    /// <summary>A folder key this session already opened, or null.</summary>
    internal byte[]? KnownFolderKey(long mailboxId) => _folderKeys.GetValueOrDefault(mailboxId);

    /// <summary>The folder key of mailbox <paramref name="mailboxId"/> from its sealed name; null if this session cannot open it (or it has none yet).</summary>
    internal byte[]? FolderKey(long mailboxId, byte[] sealedName)
    {
        if (_folderKeys.TryGetValue(mailboxId, out var known))
        {
            return known;
        }

        if (SealedNameProtector.OpenFolderKey(this, sealedName) is not { } key)
        {
            return null;
        }

        var formers = SealedNameProtector.OpenFormerFolderKeys(this, sealedName);
        if (formers.Count > 0)
        {
            _formerKeys.TryAdd(mailboxId, [.. formers]);
        }

        return _folderKeys.GetOrAdd(mailboxId, key);
    }

    // The keys a folder had before a reset replaced them, where this session holds the account key
    // they were under (restored by recovery): its older messages are still under them.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, byte[][]> _formerKeys = new();

    /// <summary>The former folder keys of a mailbox whose key this session opened (none for almost every folder).</summary>
    internal byte[][] KnownFormerFolderKeys(long mailboxId) => _formerKeys.GetValueOrDefault(mailboxId) ?? [];

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }

        foreach (var key in _folderKeys.Values)
        {
            CryptographicOperations.ZeroMemory(key);
        }

        _folderKeys.Clear();
        foreach (var key in _formerKeys.Values.SelectMany(k => k))
        {
            CryptographicOperations.ZeroMemory(key);
        }

        _formerKeys.Clear();
    }
}

/// <summary>
/// Folder and keyword names. A keyword's name is sealed under the account's names key:
/// <c>1 | key version(4) | nonce(12) | ciphertext | tag(16)</c>, associated data binding account and
/// key version. A folder's name carries the folder's own random key:
/// <c>2 | key version(4) | folder key wrapped under the names key (60) | name sealed under the folder key</c>,
/// so the folder can be opened (shared) with its key alone, and a rotation re-wraps only the folder key.
/// A folder whose key had to be replaced by a session that could not open it (its special folders after
/// a reset) keeps the name it had: <c>3 | length(4) | the format-2 name | the former sealed name</c>. Only
/// the former account key opens the former folder key, which is what recovery of old mail hands back.
/// Lookup keys are HMAC-SHA256 under a key derived from the account key.
/// </summary>
internal sealed class SealedNameProtector(AccountSession session) : INameProtector
{
    private static readonly byte[] Label = "sealpost/name/v1\0"u8.ToArray();
    private static readonly byte[] FolderKeyLabel = "sealpost/folder-key/v1\0"u8.ToArray();
    private static readonly byte[] FolderNameLabel = "sealpost/folder-name/v1\0"u8.ToArray();
    private const int WrappedFolderKeyLength = 32 + Aead.Overhead;

    public byte[] LookupKey(long accountId, string name)
    {
        Check(accountId);
        return HMACSHA256.HashData(session.Current.NameLookupKey, Encoding.UTF8.GetBytes(name));
    }

    public byte[] Seal(long accountId, string name)
    {
        Check(accountId);
        var key = session.Current;
        var body = Aead.Seal(key.NamesKey, Encoding.UTF8.GetBytes(name), Aead.Context(Label, accountId, key.Version));
        var output = new byte[5 + body.Length];
        output[0] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(output.AsSpan(1), key.Version);
        body.CopyTo(output, 5);
        return output;
    }

    public byte[] SealFolder(long accountId, string name, byte[]? keepKeyOf = null)
    {
        Check(accountId);
        var kept = keepKeyOf is null ? null : OpenFolderKey(session, keepKeyOf);
        var folderKey = kept ?? RandomNumberGenerator.GetBytes(32);
        try
        {
            // A key this session cannot open is kept as the former name (its messages are under it); one
            // it can open goes on as the folder's key, with whatever former name it already carried.
            var former = keepKeyOf is null ? null : kept is null ? keepKeyOf : Former(keepKeyOf);
            return WithFormer(SealFolderWith(session.Current, accountId, name, folderKey), former);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(folderKey);
        }
    }

    /// <summary>A folder's sealed name under account key <paramref name="key"/>, with the given folder key.</summary>
    internal static byte[] SealFolderWith(AccountKeyMaterial key, long accountId, string name, byte[] folderKey)
    {
        var wrapped = Aead.Seal(key.NamesKey, folderKey, Aead.Context(FolderKeyLabel, accountId, key.Version));
        var sealedName = Aead.Seal(folderKey, Encoding.UTF8.GetBytes(name), Aead.Context(FolderNameLabel, accountId, 0));
        var output = new byte[5 + wrapped.Length + sealedName.Length];
        output[0] = 2;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(output.AsSpan(1), key.Version);
        wrapped.CopyTo(output, 5);
        sealedName.CopyTo(output, 5 + wrapped.Length);
        return output;
    }

    /// <summary>A format-2 name, carrying <paramref name="former"/> (format 3) if there is one.</summary>
    internal static byte[] WithFormer(byte[] sealedName, byte[]? former)
    {
        if (former is null)
        {
            return sealedName;
        }

        var output = new byte[5 + sealedName.Length + former.Length];
        output[0] = 3;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(output.AsSpan(1), sealedName.Length);
        sealedName.CopyTo(output, 5);
        former.CopyTo(output, 5 + sealedName.Length);
        return output;
    }

    /// <summary>The name in force: the format-2 part of a format-3 name, else the name itself.</summary>
    private static byte[] Current(byte[] sealedName)
    {
        if (sealedName.Length < 5 || sealedName[0] != 3)
        {
            return sealedName;
        }

        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(sealedName.AsSpan(1));
        return length > 0 && length <= sealedName.Length - 5 ? sealedName.AsSpan(5, length).ToArray() : [];
    }

    /// <summary>The sealed name a format-3 name replaced, or null.</summary>
    internal static byte[]? Former(byte[] sealedName)
    {
        if (sealedName.Length < 5 || sealedName[0] != 3)
        {
            return null;
        }

        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(sealedName.AsSpan(1));
        return length > 0 && length < sealedName.Length - 5 ? sealedName.AsSpan(5 + length).ToArray() : null;
    }

    /// <summary>The folder keys of the names this one replaced that <paramref name="session"/> opens, newest first.</summary>
    internal static List<byte[]> OpenFormerFolderKeys(AccountSession session, byte[] sealedName)
    {
        var keys = new List<byte[]>();
        for (var former = Former(sealedName); former is not null; former = Former(former))
        {
            if (OpenFolderKey(session, former) is { } key)
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>The folder key in a folder's sealed name; null for a keyword-style name or a key this session does not hold.</summary>
    internal static byte[]? OpenFolderKey(AccountSession session, byte[] sealedName)
    {
        sealedName = Current(sealedName);
        if (sealedName.Length < 5 + WrappedFolderKeyLength + Aead.Overhead || sealedName[0] != 2)
        {
            return null;
        }

        var version = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(sealedName.AsSpan(1));
        if (session.Key(version) is not { } key)
        {
            return null;
        }

        try
        {
            return Aead.Open(key.NamesKey, sealedName.AsSpan(5, WrappedFolderKeyLength), Aead.Context(FolderKeyLabel, session.AccountId, version));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>A folder's name opened with its folder key alone (what a holder of that key, and nobody else, can do).</summary>
    internal static string? OpenFolderName(long accountId, byte[] folderKey, byte[] sealedName)
    {
        sealedName = Current(sealedName);
        if (sealedName.Length < 5 + WrappedFolderKeyLength + Aead.Overhead || sealedName[0] != 2)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Aead.Open(folderKey, sealedName.AsSpan(5 + WrappedFolderKeyLength), Aead.Context(FolderNameLabel, accountId, 0)));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    public string? Unseal(long accountId, byte[] sealedName)
    {
        Check(accountId);
        if (sealedName.Length > 0 && sealedName[0] is 2 or 3)
        {
            var folderKey = OpenFolderKey(session, sealedName);
            if (folderKey is null)
            {
                return null;
            }

            try
            {
                return OpenFolderName(accountId, folderKey, sealedName);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(folderKey);
            }
        }

        if (sealedName.Length < 5 + Aead.Overhead || sealedName[0] != 1)
        {
            return null;
        }

        var version = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(sealedName.AsSpan(1));
        if (session.Key(version) is not { } key)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Aead.Open(key.NamesKey, sealedName.AsSpan(5), Aead.Context(Label, accountId, version)));
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private void Check(long accountId)
    {
        if (accountId != session.AccountId)
        {
            throw new InvalidOperationException("a session seals only its own account's names");
        }
    }
}
