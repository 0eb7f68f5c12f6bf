using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Sealpost.Mime.Dkim;

/// <summary>
/// One domain's DKIM signing key: RSA-2048 ("rsa-sha256", RFC 6376) or Ed25519 ("ed25519-sha256",
/// RFC 8463). The private half lives only in the keystore, sealed by the master key.
/// </summary>
public sealed record DkimKey(
    [property: JsonPropertyName("domain")] string Domain,
    [property: JsonPropertyName("selector")] string Selector,
    [property: JsonPropertyName("alg")] string Algorithm,
    [property: JsonPropertyName("key")] byte[] PrivateKey,
    [property: JsonPropertyName("created")] DateTimeOffset Created)
{
    public const string Rsa = "rsa-sha256";
    public const string Ed25519 = "ed25519-sha256";

    /// <summary>A new key; <paramref name="algorithm"/> is "rsa" or "ed25519".</summary>
    public static DkimKey Create(string domain, string selector, string algorithm, DateTimeOffset now)
    {
        switch (algorithm)
        {
            case "rsa":
                using (var rsa = RSA.Create(2048))
                {
                    return new DkimKey(domain, selector, Rsa, rsa.ExportPkcs8PrivateKey(), now);
                }

            case "ed25519":
                var generator = new Ed25519KeyPairGenerator();
                generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
                var pair = generator.GenerateKeyPair();
                return new DkimKey(domain, selector, Ed25519, ((Ed25519PrivateKeyParameters)pair.Private).GetEncoded(), now);
            default:
                throw new ArgumentException($"unknown DKIM algorithm '{algorithm}' (rsa or ed25519)", nameof(algorithm));
        }
    }

    /// <summary>An existing RSA key (PEM: PKCS#1 or PKCS#8, as OpenDKIM keeps them), so a domain keeps its published record when it moves here.</summary>
    public static DkimKey ImportRsa(string domain, string selector, string pem, DateTimeOffset now)
    {
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (ArgumentException ex)
        {
            throw new CryptographicException("not an unencrypted RSA private key in PEM", ex);
        }

        if (rsa.KeySize < 1024)
        {
            throw new CryptographicException($"an RSA key of {rsa.KeySize} bits is too small for DKIM (RFC 8301: at least 1024, 2048 recommended)");
        }

        return new DkimKey(domain, selector, Rsa, rsa.ExportPkcs8PrivateKey(), now);
    }

    /// <summary>The name the public key is published at.</summary>
    public string DnsName => $"{Selector}._domainkey.{Domain}";

    /// <summary>The TXT record's value (RFC 6376 §3.6.1): the public key, base64.</summary>
    public string DnsRecord
    {
        get
        {
            if (Algorithm == Ed25519)
            {
                var publicKey = new Ed25519PrivateKeyParameters(PrivateKey).GeneratePublicKey().GetEncoded();
                return "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(publicKey);
            }

            using var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(PrivateKey, out _);
            return "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
        }
    }

    /// <summary>The record as a zone-file line, split into 255-octet strings as DNS TXT requires.</summary>
    public string ZoneLine
    {
        get
        {
            var value = DnsRecord;
            var chunks = Enumerable.Range(0, (value.Length + 254) / 255).Select(i => "\"" + value.Substring(i * 255, Math.Min(255, value.Length - (i * 255))) + "\"");
            return $"{DnsName}. IN TXT ( {string.Join(" ", chunks)} )";
        }
    }
}
