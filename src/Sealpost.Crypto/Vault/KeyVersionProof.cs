using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Crypto.Vault;

/// <summary>Who vouches for an account key version.</summary>
public enum EndorsementKind : byte
{
    /// <summary>The signing key of the version before it: its owner was logged in.</summary>
    PreviousVersion = 1,

    /// <summary>A person of the trust anchor (administrator or officer) who asks for the version.</summary>
    Requester = 2,

    /// <summary>An officer of the trust anchor, not the requester, who approves it.</summary>
    Approver = 3,
}

public sealed record Endorsement(EndorsementKind Kind, byte[] SignerPublicKey, byte[] Signature);

/// <summary>
/// What is stored beside an account key version's X25519 public key: its Ed25519 signing public key
/// and the signatures that vouch for it. Layout: 0x02, signing public key (32), count, then per
/// signature kind (1), signer (32), signature (64). A value of another shape is a version made
/// before key versions were endorsed: it vouches for nothing until two people endorse it.
/// </summary>
public sealed record KeyVersionProof(byte[] SigningPublicKey, IReadOnlyList<Endorsement> Endorsements)
{
    private const byte Format = 0x02;
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    /// <summary>A version made before endorsements had no signing key: it can be endorsed by two people, never chained from.</summary>
    public static readonly byte[] NoSigningKey = new byte[32];

    public byte[] Encode()
    {
        var bytes = new byte[34 + (Endorsements.Count * 97)];
        bytes[0] = Format;
        SigningPublicKey.CopyTo(bytes, 1);
        bytes[33] = (byte)Endorsements.Count;
        for (var i = 0; i < Endorsements.Count; i++)
        {
            var at = 34 + (i * 97);
            bytes[at] = (byte)Endorsements[i].Kind;
            Endorsements[i].SignerPublicKey.CopyTo(bytes, at + 1);
            Endorsements[i].Signature.CopyTo(bytes, at + 33);
        }

        return bytes;
    }

    /// <summary>The proof in <paramref name="stored"/>, or null for anything else (a legacy directory signature, damage).</summary>
    public static KeyVersionProof? Decode(byte[] stored)
    {
        if (stored.Length < 34 || stored[0] != Format || stored.Length != 34 + (stored[33] * 97))
        {
            return null;
        }

        var endorsements = new List<Endorsement>();
        for (var i = 0; i < stored[33]; i++)
        {
            var at = 34 + (i * 97);
            if (!Enum.IsDefined((EndorsementKind)stored[at]))
            {
                return null;
            }

            endorsements.Add(new Endorsement((EndorsementKind)stored[at], stored[(at + 1)..(at + 33)], stored[(at + 33)..(at + 97)]));
        }

        return new KeyVersionProof(stored[1..33], endorsements);
    }

    /// <summary>The proof with <paramref name="endorsement"/> added (replacing one of the same kind by the same signer).</summary>
    public KeyVersionProof With(Endorsement endorsement) => this with
    {
        Endorsements = [.. Endorsements.Where(e => e.Kind != endorsement.Kind || !e.SignerPublicKey.AsSpan().SequenceEqual(endorsement.SignerPublicKey)), endorsement],
    };

    /// <summary>What every endorsement of a version signs: account, version, both public keys, and the endorsement's kind.</summary>
    public static byte[] Payload(long accountId, int version, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> signingPublicKey, EndorsementKind kind)
    {
        var payload = new byte[24 + 8 + 4 + 32 + 32 + 1];
        "sealpost/account-key/v2\0"u8.CopyTo(payload);
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(24), accountId);
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(32), version);
        publicKey.CopyTo(payload.AsSpan(36));
        signingPublicKey.CopyTo(payload.AsSpan(68));
        payload[100] = (byte)kind;
        return payload;
    }

    /// <summary>
    /// The Ed25519 signing key of an account key version, derived from its X25519 private key: whoever
    /// can unwrap the version (its owner's credentials, the recovery key) can sign with it, nobody else.
    /// </summary>
    public static Key SigningKey(long accountId, int version, ReadOnlySpan<byte> privateKey)
    {
        Span<byte> info = stackalloc byte[27 + 12];
        "sealpost/account-signing/v1"u8.CopyTo(info);
        BinaryPrimitives.WriteInt64BigEndian(info[27..], accountId);
        BinaryPrimitives.WriteInt32BigEndian(info[35..], version);
        Span<byte> seed = stackalloc byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, privateKey, seed, [], info);
        try
        {
            return Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    public static byte[] SigningPublicKeyOf(long accountId, int version, ReadOnlySpan<byte> privateKey)
    {
        using var key = SigningKey(accountId, version, privateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>A new version's proof, signed by the version before it (whose private key the caller unwrapped).</summary>
    public static KeyVersionProof SignedByPrevious(long accountId, int version, byte[] publicKey, byte[] privateKey, int previousVersion, byte[] previousPrivateKey)
    {
        var signingPublic = SigningPublicKeyOf(accountId, version, privateKey);
        using var previous = SigningKey(accountId, previousVersion, previousPrivateKey);
        var signature = Ed25519.Sign(previous, Payload(accountId, version, publicKey, signingPublic, EndorsementKind.PreviousVersion));
        return new KeyVersionProof(signingPublic, [new Endorsement(EndorsementKind.PreviousVersion, previous.PublicKey.Export(KeyBlobFormat.RawPublicKey), signature)]);
    }

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) => AuditSigner.Verify(publicKey, data, signature);
}
