using NSec.Cryptography;

namespace Sealpost.Crypto.Primitives;

/// <summary>Ed25519 signatures of audit checkpoints, with a key from the keystore (a 32-byte seed).</summary>
public sealed class AuditSigner : IDisposable
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    public AuditSigner(ReadOnlySpan<byte> seed)
    {
        _key = Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        PublicKey = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] PublicKey { get; }

    public byte[] Sign(ReadOnlySpan<byte> data) => Ed25519.Sign(_key, data);

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 32 || signature.Length != 64)
        {
            return false;
        }

        return NSec.Cryptography.PublicKey.TryImport(Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key) && Ed25519.Verify(key!, data, signature);
    }

    public void Dispose() => _key.Dispose();
}
