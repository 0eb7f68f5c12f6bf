using System.Runtime.InteropServices;
using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;

namespace Sealpost.Crypto.Primitives;

/// <summary>
/// HPKE (RFC 9180), base mode, single-shot, with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256.
/// AEAD: AES-128-GCM (id 1, only for the RFC's test vectors) or AES-256-GCM (id 2, what we use).
/// X25519 comes from libsodium (the library NSec ships: key generation and checks through NSec, the
/// per-message scalar multiplications called directly); HKDF and AES-GCM from .NET.
/// </summary>
public sealed class Hpke
{
    public const ushort KemX25519Sha256 = 0x0020;
    public const ushort KdfHkdfSha256 = 0x0001;
    public const ushort AeadAes128Gcm = 0x0001;
    public const ushort AeadAes256Gcm = 0x0002;

    public const int EncLength = 32;
    public const int TagLength = 16;
    private const int Nn = 12;

    private static readonly KeyAgreementAlgorithm X25519 = KeyAgreementAlgorithm.X25519;
    private static readonly byte[] KemSuiteId = [.. "KEM"u8, 0x00, 0x20];

    private readonly byte[] _suiteId;
    private readonly int _nk;

    public Hpke(ushort aeadId = AeadAes256Gcm)
    {
        _nk = aeadId switch
        {
            AeadAes128Gcm => 16,
            AeadAes256Gcm => 32,
            _ => throw new ArgumentOutOfRangeException(nameof(aeadId)),
        };
        // suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)  (RFC 9180 §5.1)
        _suiteId = [.. "HPKE"u8, 0x00, 0x20, 0x00, 0x01, 0x00, (byte)aeadId];
    }

    /// <summary>A new X25519 key pair: (private, public), raw 32 bytes each.</summary>
    public static (byte[] PrivateKey, byte[] PublicKey) GenerateKeyPair()
    {
        using var key = Key.Create(X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        return (key.Export(KeyBlobFormat.RawPrivateKey), key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public static byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        using var key = Key.Import(X25519, privateKey, KeyBlobFormat.RawPrivateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>DeriveKeyPair for X25519 (RFC 9180 §7.1.3): sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", 32).</summary>
    public static byte[] DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        var prk = LabeledExtract(KemSuiteId, [], "dkp_prk"u8, ikm);
        return LabeledExpand(KemSuiteId, prk, "sk"u8, [], 32);
    }

    /// <summary>Seals <paramref name="plaintext"/> to <paramref name="recipientPublicKey"/>: returns enc (32 bytes) and the ciphertext (plaintext + 16).</summary>
    public (byte[] Enc, byte[] Ciphertext) Seal(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext) =>
        Seal(recipientPublicKey, info, aad, plaintext, default);

    /// <summary>
    /// <see cref="Seal(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> with a
    /// chosen ephemeral key: only test vectors may choose it (a reused ephemeral key reuses the AEAD key and nonce).
    /// </summary>
    internal (byte[] Enc, byte[] Ciphertext) Seal(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> ephemeralPrivateKey)
    {
        // The ephemeral key: 32 random bytes (X25519 clamps the scalar itself, RFC 7748 §5); enc is its public half.
        var ephemeral = ephemeralPrivateKey.IsEmpty ? RandomNumberGenerator.GetBytes(32) : ephemeralPrivateKey.ToArray();
        var enc = new byte[EncLength];
        if (Sodium.crypto_scalarmult_curve25519_base(enc, ephemeral) != 0 || recipientPublicKey.Length != EncLength)
        {
            CryptographicOperations.ZeroMemory(ephemeral);
            throw new CryptographicException("invalid X25519 key");
        }

        var dh = new byte[32];
        var agreed = Sodium.crypto_scalarmult_curve25519(dh, ephemeral, recipientPublicKey.ToArray());
        CryptographicOperations.ZeroMemory(ephemeral);
        if (agreed != 0)
        {
            throw new CryptographicException("X25519 produced an all-zero shared secret"); // RFC 9180 §7.1.4
        }

        var sharedSecret = ExtractAndExpand(dh, [.. enc, .. recipientPublicKey]);
        CryptographicOperations.ZeroMemory(dh);
        var (key, nonce) = KeySchedule(sharedSecret, info);
        CryptographicOperations.ZeroMemory(sharedSecret);
        var ciphertext = new byte[plaintext.Length + TagLength];
        using (var gcm = new AesGcm(key, TagLength))
        {
            gcm.Encrypt(nonce, plaintext, ciphertext.AsSpan(0, plaintext.Length), ciphertext.AsSpan(plaintext.Length), aad);
        }

        CryptographicOperations.ZeroMemory(key);
        return (enc, ciphertext);
    }

    /// <summary>
    /// A recipient's private key checked once (through NSec, which also initialises libsodium) for many
    /// opens, and its public key. Opens then call libsodium's X25519 directly: NSec puts each key and
    /// each shared secret in guarded memory (an mmap and two mprotects, which serialise threads), and
    /// the private key is in managed memory already, so that bought nothing here but cost more than
    /// the scalar multiplication itself. Thread-safe to share.
    /// </summary>
    public sealed class RecipientKey : IDisposable
    {
        private readonly byte[] _privateKey;

        public RecipientKey(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey = default)
        {
            using (var key = Key.Import(X25519, privateKey, KeyBlobFormat.RawPrivateKey))
            {
                PublicKey = publicKey.IsEmpty ? key.PublicKey.Export(KeyBlobFormat.RawPublicKey) : publicKey.ToArray();
            }

            _privateKey = privateKey.ToArray();
        }

        internal byte[] PublicKey { get; }

        /// <summary>X25519(sk, pk); refuses a result of all zeros (RFC 9180 §7.1.4), as libsodium reports it.</summary>
        internal byte[] Agree(ReadOnlySpan<byte> publicKey)
        {
            if (publicKey.Length != EncLength)
            {
                throw new CryptographicException("invalid X25519 public key");
            }

            var shared = new byte[32];
            if (Sodium.crypto_scalarmult_curve25519(shared, _privateKey, publicKey.ToArray()) != 0)
            {
                throw new CryptographicException("X25519 produced an all-zero shared secret");
            }

            return shared;
        }

        public void Dispose() => CryptographicOperations.ZeroMemory(_privateKey);
    }

    /// <summary>libsodium's X25519, called directly (see <see cref="RecipientKey"/>); the library is the one NSec ships.</summary>
    private static class Sodium
    {
        static Sodium()
        {
            if (sodium_init() < 0)
            {
                throw new CryptographicException("libsodium could not be initialised");
            }
        }

        [DllImport("libsodium", CallingConvention = CallingConvention.Cdecl)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories)]
        private static extern int sodium_init();

        [DllImport("libsodium", CallingConvention = CallingConvention.Cdecl)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories)]
        internal static extern int crypto_scalarmult_curve25519_base(byte[] q, byte[] n);

        [DllImport("libsodium", CallingConvention = CallingConvention.Cdecl)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories)]
        internal static extern int crypto_scalarmult_curve25519(byte[] q, byte[] n, byte[] p);
    }

    /// <summary>Opens what <see cref="Seal"/> made. Throws <see cref="CryptographicException"/> on any mismatch.</summary>
    /// <param name="recipientPublicKey">The recipient's public key if the caller has it (saves a scalar multiplication).</param>
    public byte[] Open(ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> recipientPublicKey = default)
    {
        using var recipient = new RecipientKey(recipientPrivateKey, recipientPublicKey);
        return Open(recipient, enc, info, aad, ciphertext);
    }

    /// <summary>Opens what <see cref="Seal"/> made with a key imported once. Throws <see cref="CryptographicException"/> on any mismatch.</summary>
    public byte[] Open(RecipientKey recipient, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        if (enc.Length != EncLength || ciphertext.Length < TagLength)
        {
            throw new CryptographicException("malformed HPKE ciphertext");
        }

        var pkR = recipient.PublicKey;
        var dh = recipient.Agree(enc);
        var sharedSecret = ExtractAndExpand(dh, [.. enc, .. pkR]);
        CryptographicOperations.ZeroMemory(dh);
        var (key, nonce) = KeySchedule(sharedSecret, info);
        CryptographicOperations.ZeroMemory(sharedSecret);
        var plaintext = new byte[ciphertext.Length - TagLength];
        try
        {
            using var gcm = new AesGcm(key, TagLength);
            gcm.Decrypt(nonce, ciphertext[..^TagLength], ciphertext[^TagLength..], plaintext, aad);
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The key schedule's outputs, exposed for the RFC test vectors.</summary>
    internal (byte[] Key, byte[] BaseNonce) KeyScheduleForTest(byte[] sharedSecret, byte[] info) => KeySchedule(sharedSecret, info);

    internal static byte[] EncapForTest(ReadOnlySpan<byte> skE, ReadOnlySpan<byte> pkR)
    {
        var enc = PublicKeyOf(skE);
        return ExtractAndExpand(Dh(skE, pkR), [.. enc, .. pkR]);
    }

    private static byte[] Dh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        using var sk = Key.Import(X25519, privateKey, KeyBlobFormat.RawPrivateKey);
        return Agree(sk, publicKey);
    }

    private static byte[] Agree(Key sk, ReadOnlySpan<byte> publicKey)
    {
        if (!PublicKey.TryImport(X25519, publicKey, KeyBlobFormat.RawPublicKey, out var pk) || pk is null)
        {
            throw new CryptographicException("invalid X25519 public key");
        }

        using var shared = X25519.Agree(sk, pk, new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })
            ?? throw new CryptographicException("X25519 produced an all-zero shared secret"); // RFC 9180 §7.1.4
        return shared.Export(SharedSecretBlobFormat.RawSharedSecret);
    }

    // RFC 9180 §4.1: ExtractAndExpand(dh, kem_context)
    private static byte[] ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> kemContext)
    {
        var eaePrk = LabeledExtract(KemSuiteId, [], "eae_prk"u8, dh);
        var secret = LabeledExpand(KemSuiteId, eaePrk, "shared_secret"u8, kemContext, 32);
        CryptographicOperations.ZeroMemory(eaePrk);
        return secret;
    }

    // RFC 9180 §5.1, base mode (psk and psk_id empty).
    private (byte[] Key, byte[] BaseNonce) KeySchedule(ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> info)
    {
        var context = Context(info);
        var secret = LabeledExtract(_suiteId, sharedSecret, "secret"u8, []);
        var key = LabeledExpand(_suiteId, secret, "key"u8, context, _nk);
        var nonce = LabeledExpand(_suiteId, secret, "base_nonce"u8, context, Nn);
        CryptographicOperations.ZeroMemory(secret);
        return (key, nonce);
    }

    // key_schedule_context depends only on mode and info, and our infos are constants: compute once per info.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _contexts = new(StringComparer.Ordinal);

    private byte[] Context(ReadOnlySpan<byte> info)
    {
        var cacheKey = Convert.ToBase64String(info);
        if (_contexts.TryGetValue(cacheKey, out var cached))
        {
            return cached;
        }

        var pskIdHash = LabeledExtract(_suiteId, [], "psk_id_hash"u8, []);
        var infoHash = LabeledExtract(_suiteId, [], "info_hash"u8, info);
        byte[] context = [0x00, .. pskIdHash, .. infoHash];
        if (_contexts.Count < 64)
        {
            _contexts[cacheKey] = context;
        }

        return context;
    }

    private static byte[] LabeledExtract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm)
    {
        byte[] labeledIkm = [.. "HPKE-v1"u8, .. suiteId, .. label, .. ikm];
        try
        {
            return HKDF.Extract(HashAlgorithmName.SHA256, labeledIkm, salt.ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(labeledIkm);
        }
    }

    private static byte[] LabeledExpand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length)
    {
        Span<byte> lengthBytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(lengthBytes, (ushort)length);
        byte[] labeledInfo = [.. lengthBytes, .. "HPKE-v1"u8, .. suiteId, .. label, .. info];
        var output = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, labeledInfo);
        return output;
    }
}
