using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;
using Sealpost.Core;
using Sealpost.Core.Storage;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// Server secrets, each sealed under the master key (AES-256-GCM, the entry name in the associated
/// data so entries cannot be swapped) before it reaches the store:
/// <list type="bullet">
/// <item><c>directory-signing</c>: Ed25519; signs the recovery keys' listing. Sealing trusts nothing it
/// signs: account key versions chain to the officers' trust anchor instead (<see cref="KeyTrust"/>).</item>
/// <item><c>trust-anchors</c>: the officers' trust anchor chain (public, sealed here so a node without the master key cannot swap it).</item>
/// <item><c>queue</c>: seals the outbound queue.</item>
/// <item><c>audit-signing</c>: Ed25519; signs audit checkpoints.</item>
/// </list>
/// DKIM and TLS private keys join with their issues through <see cref="GetOrCreateSecretAsync"/>.
/// The master key comes from the security officers' shares (production) or a key file (--dev, test rigs);
/// health says which.
/// </summary>
public sealed class Keystore : IDisposable
{
    public const string DirectorySigningName = "directory-signing";
    public const string QueueName = "queue";
    public const string AuditSigningName = "audit-signing";

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly byte[] _masterKey;
    private readonly IDirectoryStore _store;
    private readonly Key _directoryKey;

    private Keystore(byte[] masterKey, IDirectoryStore store, Key directoryKey, byte[] queueKey)
    {
        _masterKey = masterKey;
        _store = store;
        _directoryKey = directoryKey;
        QueueKey = queueKey;
        DirectoryPublicKey = directoryKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] DirectoryPublicKey { get; }

    public byte[] QueueKey { get; }

    /// <summary>Opens the keystore; creates the standard secrets that are missing (first start after init).</summary>
    public static async Task<Keystore> OpenAsync(IDirectoryStore store, byte[] masterKey, CancellationToken ct = default)
    {
        if (masterKey.Length != 32)
        {
            throw new ArgumentException("master key must be 32 bytes", nameof(masterKey));
        }

        var seed = await GetOrCreateAsync(store, masterKey, DirectorySigningName, 32, ct);
        await GetOrCreateAsync(store, masterKey, AuditSigningName, 32, ct);
        var queue = await GetOrCreateAsync(store, masterKey, QueueName, 32, ct);
        var key = Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        CryptographicOperations.ZeroMemory(seed);
        return new Keystore(masterKey.ToArray(), store, key, queue);
    }

    /// <summary>A named secret of <paramref name="length"/> random bytes, made on first use.</summary>
    public Task<byte[]> GetOrCreateSecretAsync(string name, int length, CancellationToken ct = default) => GetOrCreateAsync(_store, _masterKey, name, length, ct);

    private static async Task<byte[]> GetOrCreateAsync(IDirectoryStore store, byte[] masterKey, string name, int length, CancellationToken ct)
    {
        var aad = Encoding.ASCII.GetBytes("sealpost/keystore/v1/" + name);
        var sealedValue = await store.GetKeystoreEntryAsync(name, ct);
        if (sealedValue is null)
        {
            var fresh = RandomNumberGenerator.GetBytes(length);
            if (await store.TryAddKeystoreEntryAsync(name, Aead.Seal(masterKey, fresh, aad), ct))
            {
                return fresh;
            }

            sealedValue = await store.GetKeystoreEntryAsync(name, ct); // another process made it first
        }

        try
        {
            return Aead.Open(masterKey, sealedValue!, aad);
        }
        catch (CryptographicException)
        {
            throw new SealpostException(ErrorKind.Forbidden, $"keystore entry '{name}' does not open with this master key (wrong Vault:MasterKeyFile?)");
        }
    }

    /// <summary>Seals and stores a named secret, replacing any earlier value (e.g. a renewed TLS key).</summary>
    public Task PutSecretAsync(string name, byte[] value, CancellationToken ct = default) =>
        _store.SetKeystoreEntryAsync(name, Aead.Seal(_masterKey, value, Encoding.ASCII.GetBytes("sealpost/keystore/v1/" + name)), ct);

    /// <summary>
    /// A copy of the master key, for one purpose only: handing it to an officer-approved peer node over
    /// mutual TLS (peer unseal). The caller zeroes it.
    /// </summary>
    public byte[] CopyMasterKeyForPeer() => _masterKey.ToArray();

    /// <summary>A named secret, or null if there is none.</summary>
    public async Task<byte[]?> GetSecretAsync(string name, CancellationToken ct = default)
    {
        var sealedValue = await _store.GetKeystoreEntryAsync(name, ct);
        if (sealedValue is null)
        {
            return null;
        }

        try
        {
            return Aead.Open(_masterKey, sealedValue, Encoding.ASCII.GetBytes("sealpost/keystore/v1/" + name));
        }
        catch (CryptographicException)
        {
            throw new SealpostException(ErrorKind.Forbidden, $"keystore entry '{name}' does not open with this master key");
        }
    }

    public byte[] SignRecoveryKey(int version, byte[] publicKey) => Ed25519.Sign(_directoryKey, RecoveryKeyPayload(version, publicKey));

    private static byte[] RecoveryKeyPayload(int version, byte[] publicKey)
    {
        var payload = new byte[25 + 4 + publicKey.Length];
        "sealpost/recovery-key/v1\0"u8.CopyTo(payload);
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(25), version);
        publicKey.CopyTo(payload, 29);
        return payload;
    }

    public void Dispose()
    {
        _directoryKey.Dispose();
        CryptographicOperations.ZeroMemory(_masterKey);
        CryptographicOperations.ZeroMemory(QueueKey);
    }
}
