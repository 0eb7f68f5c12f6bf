using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sealpost.Delivery;

/// <summary>One TLSA record (RFC 6698 §2.1): usage, selector, matching type, association data.</summary>
public sealed record Tlsa(int Usage, int Selector, int MatchingType, byte[] Data)
{
    /// <summary>Whether <paramref name="certificate"/> is what this record names.</summary>
    public bool Matches(X509Certificate2 certificate)
    {
        var selected = Selector == 0 ? certificate.RawData : certificate.PublicKey.ExportSubjectPublicKeyInfo();
        var digest = MatchingType switch
        {
            1 => SHA256.HashData(selected),
            2 => SHA512.HashData(selected),
            _ => selected,
        };
        return CryptographicOperations.FixedTimeEquals(digest, Data);
    }
}

/// <summary>
/// Certificate checks under DANE (RFC 7672 §3.1): DANE-EE(3) matches the server's own certificate
/// and ignores names and expiry; DANE-TA(2) matches a certificate in the chain the server sent,
/// which must then lead to the server's certificate, and the name is checked against the MX host.
/// </summary>
public static class Dane
{
    public static bool Verified(string hostName, X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented, IReadOnlyList<Tlsa> records)
    {
        if (records.Any(r => r.Usage == 3 && r.Matches(leaf)))
        {
            return true;
        }

        foreach (var anchor in presented.Where(c => records.Any(r => r.Usage == 2 && r.Matches(c))))
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(anchor);
            chain.ChainPolicy.ExtraStore.AddRange(presented.ToArray());
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain.Build(leaf) && leaf.MatchesHostname(hostName))
            {
                return true;
            }
        }

        return false;
    }
}
