using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sealpost.Core;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Crypto.Vault;

/// <summary>A person who may sign account key versions: an <c>officer</c> approves, an <c>admin</c> or officer requests.</summary>
public sealed record TrustPerson(string Name, string Role, byte[] PublicKey)
{
    public const string Officer = "officer";
    public const string Admin = "admin";
}

/// <summary>A recovery public key the officer set vouches for (its private half is split among them, offline).</summary>
public sealed record TrustedRecoveryKey(int Version, byte[] PublicKey);

/// <summary>One officer's Ed25519 signature over an anchor's body.</summary>
public sealed record AnchorSignature(byte[] PublicKey, byte[] Signature);

/// <summary>
/// The officer set: who may request and approve account key versions (by their personal Ed25519
/// keys), how many officers must sign a change to this list (the threshold), and the recovery public
/// keys. Generation 1 is pinned at <c>init</c> and must carry the threshold of its own officers'
/// signatures; every later generation names its predecessor's fingerprint and carries the threshold
/// of the predecessor's officers' signatures. The chain's first fingerprint is printed at init and
/// recorded in the audit trail: it is what officers and auditors compare.
/// </summary>
public sealed record TrustAnchor(int Generation, int Threshold, IReadOnlyList<TrustPerson> People, IReadOnlyList<TrustedRecoveryKey> RecoveryKeys, string? Previous, IReadOnlyList<AnchorSignature> Signatures)
{
    public const int MaxPeople = 256;

    /// <summary>The bytes officers sign and the fingerprint hashes: everything but the signatures, in a fixed binary layout.</summary>
    public byte[] Body()
    {
        using var buffer = new MemoryStream();
        buffer.Write("sealpost/trust-anchor/v1\0"u8);
        WriteInt(buffer, Generation);
        WriteInt(buffer, Threshold);
        WriteInt(buffer, People.Count);
        foreach (var person in People)
        {
            WriteText(buffer, person.Role);
            WriteText(buffer, person.Name);
            buffer.Write(person.PublicKey);
        }

        WriteInt(buffer, RecoveryKeys.Count);
        foreach (var key in RecoveryKeys)
        {
            WriteInt(buffer, key.Version);
            buffer.Write(key.PublicKey);
        }

        WriteText(buffer, Previous ?? "");
        return buffer.ToArray();
    }

    /// <summary>"sha256:" and the hex of the body's hash.</summary>
    public string Fingerprint => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Body()));

    public IEnumerable<TrustPerson> Officers => People.Where(p => p.Role == TrustPerson.Officer);

    public TrustPerson? Find(ReadOnlySpan<byte> publicKey)
    {
        foreach (var person in People)
        {
            if (person.PublicKey.AsSpan().SequenceEqual(publicKey))
            {
                return person;
            }
        }

        return null;
    }

    public TrustedRecoveryKey CurrentRecoveryKey => RecoveryKeys.MaxBy(k => k.Version)!;

    /// <summary>Checks the anchor's own shape: what init and an update refuse before looking at signatures.</summary>
    public void Validate()
    {
        if (People.Count is 0 or > MaxPeople)
        {
            throw SealpostException.Invalid($"a trust anchor names 1-{MaxPeople} people");
        }

        foreach (var person in People)
        {
            if (person.Role is not (TrustPerson.Officer or TrustPerson.Admin))
            {
                throw SealpostException.Invalid($"'{person.Name}': role must be '{TrustPerson.Officer}' or '{TrustPerson.Admin}'");
            }

            if (person.Name.Length is 0 or > 128 || person.Name.Any(char.IsControl))
            {
                throw SealpostException.Invalid("a person's name is 1-128 printable characters");
            }

            if (person.PublicKey.Length != 32)
            {
                throw SealpostException.Invalid($"'{person.Name}': a personal public key is 32 bytes");
            }
        }

        if (People.Select(p => Convert.ToBase64String(p.PublicKey)).Distinct().Count() != People.Count || People.Select(p => p.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != People.Count)
        {
            throw SealpostException.Invalid("each person appears once, with a key of their own");
        }

        var officers = Officers.Count();
        if (Threshold < 2 || Threshold > officers)
        {
            throw SealpostException.Invalid($"the threshold must be at least 2 and at most the number of officers ({officers})");
        }

        if (RecoveryKeys.Count == 0 || RecoveryKeys.Any(k => k.PublicKey.Length != 32 || k.Version < 1) || RecoveryKeys.Select(k => k.Version).Distinct().Count() != RecoveryKeys.Count)
        {
            throw SealpostException.Invalid("a trust anchor holds at least one recovery public key, each with its own version");
        }

        if (Generation < 1 || (Generation == 1) != (Previous is null))
        {
            throw SealpostException.Invalid("generation 1 has no predecessor; every later one names it");
        }
    }

    /// <summary>How many distinct officers of <paramref name="signers"/> signed this body validly.</summary>
    public int ValidSignaturesBy(TrustAnchor signers)
    {
        var body = Body();
        return Signatures
            .Where(s => signers.Find(s.PublicKey) is { Role: TrustPerson.Officer } && AuditSigner.Verify(s.PublicKey, body, s.Signature))
            .Select(s => Convert.ToBase64String(s.PublicKey))
            .Distinct()
            .Count();
    }

    /// <summary>The anchor with one more signature, made with <paramref name="key"/>.</summary>
    public TrustAnchor SignedBy(PersonalKey key) =>
        this with { Signatures = [.. Signatures.Where(s => !s.PublicKey.AsSpan().SequenceEqual(key.PublicKey)), new AnchorSignature(key.PublicKey, key.Sign(Body()))] };

    /// <summary>
    /// Checks a chain: generation 1 signed by its own threshold of officers, each later one by its
    /// predecessor's threshold and naming the predecessor's fingerprint. Returns the first problem, or null.
    /// </summary>
    public static string? CheckChain(IReadOnlyList<TrustAnchor> chain)
    {
        if (chain.Count == 0)
        {
            return "no trust anchor";
        }

        for (var i = 0; i < chain.Count; i++)
        {
            var anchor = chain[i];
            try
            {
                anchor.Validate();
            }
            catch (SealpostException e)
            {
                return $"generation {anchor.Generation}: {e.Message}";
            }

            var signers = i == 0 ? anchor : chain[i - 1];
            if (anchor.Generation != i + 1 || (i > 0 && anchor.Previous != chain[i - 1].Fingerprint))
            {
                return $"generation {anchor.Generation} does not follow generation {i}";
            }

            if (anchor.ValidSignaturesBy(signers) < signers.Threshold)
            {
                return $"generation {anchor.Generation} carries fewer than {signers.Threshold} valid officers' signatures";
            }
        }

        return null;
    }

    private static void WriteInt(Stream stream, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        stream.Write(bytes);
    }

    private static void WriteText(Stream stream, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        WriteInt(stream, bytes.Length);
        stream.Write(bytes);
    }

    // ---- the file officers pass around (JSON, keys in base64) ----

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TrustAnchor FromJson(string json, string source)
    {
        TrustAnchor? anchor;
        try
        {
            anchor = JsonSerializer.Deserialize<TrustAnchor>(json, Json);
        }
        catch (JsonException e)
        {
            throw SealpostException.Invalid($"{source} is not a trust anchor file ({e.Message.Split('.')[0]})");
        }

        if (anchor is null || anchor.People is null || anchor.RecoveryKeys is null || anchor.People.Any(p => p is null || p.Name is null || p.Role is null || p.PublicKey is null)
            || anchor.RecoveryKeys.Any(k => k is null || k.PublicKey is null))
        {
            throw SealpostException.Invalid($"{source} is not a complete trust anchor file");
        }

        return anchor with { Signatures = anchor.Signatures?.Where(s => s?.PublicKey is not null && s.Signature is not null).ToList() ?? [] };
    }

    public static TrustAnchor ReadFile(string path)
    {
        try
        {
            return FromJson(File.ReadAllText(path), $"'{path}'");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SealpostException.NotFound($"cannot read '{path}': {e.Message}");
        }
    }

    public static string ChainToJson(IReadOnlyList<TrustAnchor> chain) => JsonSerializer.Serialize(chain, Json);

    public static IReadOnlyList<TrustAnchor> ChainFromJson(string json) =>
        JsonSerializer.Deserialize<List<TrustAnchor>>(json, Json) ?? [];
}

/// <summary>
/// A person's Ed25519 signing key (an officer's or an administrator's), kept in a file on their own
/// machine (mode 0600): it signs trust-anchor changes and account key versions, never reaches a server.
/// </summary>
public sealed class PersonalKey : IDisposable
{
    public const string PrivateLabel = "sealpost-personal-key-v1";
    public const string PublicLabel = "sealpost-personal-public-key-v1";
    private static readonly NSec.Cryptography.SignatureAlgorithm Ed25519 = NSec.Cryptography.SignatureAlgorithm.Ed25519;
    private readonly NSec.Cryptography.Key _key;

    public PersonalKey(ReadOnlySpan<byte> seed)
    {
        _key = NSec.Cryptography.Key.Import(Ed25519, seed, NSec.Cryptography.KeyBlobFormat.RawPrivateKey);
        PublicKey = _key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey);
    }

    public byte[] PublicKey { get; }

    public byte[] Sign(ReadOnlySpan<byte> data) => Ed25519.Sign(_key, data);

    public static PersonalKey Load(string path)
    {
        var seed = KeyFiles.Read(path, PrivateLabel, 32);
        try
        {
            return new PersonalKey(seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>Makes a key pair: the private file (0600) and the public file to hand to the other officers.</summary>
    public static byte[] Generate(string privatePath, string publicPath)
    {
        var seed = RandomNumberGenerator.GetBytes(32);
        try
        {
            using var key = new PersonalKey(seed);
            KeyFiles.Write(privatePath, PrivateLabel, seed);
            KeyFiles.Write(publicPath, PublicLabel, key.PublicKey);
            return key.PublicKey;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    public static byte[] ReadPublic(string path) => KeyFiles.Read(path, PublicLabel, 32);

    public void Dispose() => _key.Dispose();
}
