using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Sealpost.Mime.Dkim;

/// <summary>
/// Signs a message with a domain's DKIM key (relaxed/relaxed, RFC 6376) and returns it with the
/// DKIM-Signature header put in front of the original octets, which are otherwise unchanged.
/// RSA signs through .NET's own RSA (MimeKit's managed RSA is an order of magnitude slower).
/// </summary>
public static class DkimMessageSigner
{
    /// <summary>What is signed (those present), RFC 6376 §5.4.1's recommendations.</summary>
    public static readonly HeaderId[] SignedHeaders =
    [
        HeaderId.From, HeaderId.Sender, HeaderId.ReplyTo, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId, HeaderId.To, HeaderId.Cc,
        HeaderId.InReplyTo, HeaderId.References, HeaderId.MimeVersion, HeaderId.ContentType, HeaderId.ContentTransferEncoding,
    ];

    // A signer per key, made once: reading a key into BouncyCastle costs more than a signature.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<DkimKey, DkimSigner> Signers = new(new KeyIdentity());

    private static DkimSigner Create(DkimKey key)
    {
        DkimSigner signer = key.Algorithm == DkimKey.Ed25519
            ? new DkimSigner(new Ed25519PrivateKeyParameters(key.PrivateKey), key.Domain, key.Selector, DkimSignatureAlgorithm.Ed25519Sha256)
            : new DotNetRsaDkimSigner(key);
        signer.HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
        signer.BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
        return signer;
    }

    private sealed class KeyIdentity : IEqualityComparer<DkimKey>
    {
        public bool Equals(DkimKey? x, DkimKey? y) => x is not null && y is not null && x.Domain == y.Domain && x.Selector == y.Selector
            && x.Algorithm == y.Algorithm && x.PrivateKey.AsSpan().SequenceEqual(y.PrivateKey);

        public int GetHashCode(DkimKey key) => HashCode.Combine(key.Domain, key.Selector, key.PrivateKey.Length, BitConverter.ToInt32(SHA256.HashData(key.PrivateKey)));
    }

    /// <summary>
    /// The message with a DKIM-Signature header first; <see cref="FormatException"/> when its header
    /// block cannot be read or has no From field (RFC 6376 §5.4: the signature must cover From).
    /// </summary>
    public static byte[] Sign(byte[] message, DkimKey key)
    {
        MimeMessage parsed;
        using (var stream = new MemoryStream(message))
        {
            parsed = MimeMessage.Load(stream);
        }

        if (!parsed.Headers.Contains(HeaderId.From))
        {
            throw new FormatException("the message has no From field to sign");
        }

        var signer = Signers.GetOrAdd(key, Create);
        signer.Sign(parsed, SignedHeaders.Where(h => parsed.Headers.Contains(h)).ToArray());

        var raw = Encoding.ASCII.GetString(parsed.Headers.First(h => h.Id == HeaderId.DkimSignature).RawValue);
        var line = "DKIM-Signature:" + raw.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal);
        var prefix = Encoding.ASCII.GetBytes(line.EndsWith("\r\n", StringComparison.Ordinal) ? line : line + "\r\n");
        return [.. prefix, .. message];
    }

    /// <summary>MimeKit's DKIM signer with the RSA signature made by .NET (PKCS#1 v1.5, SHA-256).</summary>
    private sealed class DotNetRsaDkimSigner : DkimSigner
    {
        // One RSA per thread: an RSA object is not documented as safe for concurrent use.
        private readonly ThreadLocal<RSA> _rsa;

        public DotNetRsaDkimSigner(DkimKey key)
            : base(PrivateKeyFactory.CreateKey(key.PrivateKey), key.Domain, key.Selector, DkimSignatureAlgorithm.RsaSha256)
        {
            var pkcs8 = key.PrivateKey;
            _rsa = new ThreadLocal<RSA>(() =>
            {
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(pkcs8, out _);
                return rsa;
            });
        }

        protected override ISigner CreateSigningContext() => new RsaSha256Signer(_rsa.Value!);
    }

    /// <summary>A BouncyCastle ISigner over .NET's RSA: hashes what it is given and signs the hash.</summary>
    private sealed class RsaSha256Signer(RSA rsa) : ISigner
    {
        private IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string AlgorithmName => "SHA-256withRSA";

        public void Init(bool forSigning, ICipherParameters parameters)
        {
        }

        public void Update(byte input) => _hash.AppendData([input]);

        public void BlockUpdate(byte[] input, int inOff, int inLen) => _hash.AppendData(input, inOff, inLen);

        public void BlockUpdate(ReadOnlySpan<byte> input) => _hash.AppendData(input);

        public int GetMaxSignatureSize() => 512;

        public byte[] GenerateSignature() => rsa.SignHash(_hash.GetHashAndReset(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

        public bool VerifySignature(byte[] signature) => throw new NotSupportedException("signing only");

        public void Reset()
        {
            _hash.Dispose();
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
    }
}
