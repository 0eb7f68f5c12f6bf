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

    public long AccountId { get; }

    public int CurrentKeyVersion { get; }

    public IReadOnlyCollection<int> KeyVersions => _keys.Keys;

    public INameProtector Names { get; }

    internal AccountKeyMaterial Current => _keys[CurrentKeyVersion];

    internal AccountKeyMaterial? Key(int version) => _keys.GetValueOrDefault(version);

    internal IEnumerable<AccountKeyMaterial> AllKeys => _keys.Values;

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }
}

/// <summary>
/// Folder and keyword names sealed under the account's names key:
/// <c>1 | key version(4) | nonce(12) | ciphertext | tag(16)</c>, associated data binding account and
/// key version. Lookup keys are HMAC-SHA256 under a key derived from the account key.
/// </summary>
internal sealed class SealedNameProtector(AccountSession session) : INameProtector
{
    private static readonly byte[] Label = "sealpost/name/v1\0"u8.ToArray();

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

    public string? Unseal(long accountId, byte[] sealedName)
    {
        Check(accountId);
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
