using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sealpost.Core.Configuration;

namespace Sealpost.Server.Tls;

/// <summary>A self-signed ECDSA P-256 certificate for <c>serve --dev</c>, kept in DATA/tls and renewed when it nears expiry.</summary>
public static class DevCertificate
{
    public const string CertificateFileName = "dev-cert.pem";
    public const string KeyFileName = "dev-key.pem";

    public static CertificateOptions Ensure(string tlsFolder, string hostname)
    {
        Directory.CreateDirectory(tlsFolder);
        var certPath = Path.Combine(tlsFolder, CertificateFileName);
        var keyPath = Path.Combine(tlsFolder, KeyFileName);
        if (!IsUsable(certPath, keyPath))
        {
            Create(certPath, keyPath, hostname);
        }

        return new CertificateOptions { CertificateFile = certPath, KeyFile = keyPath };
    }

    public static void Create(string certPath, string keyPath, string hostname, params string[] extraNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostname}, O=Sealpost development", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in new[] { hostname, "localhost" }.Concat(extraNames).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            san.AddDnsName(name);
        }

        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(365));

        File.Delete(keyPath);
        DataFolder.WritePrivateFile(keyPath, System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n");
    }

    private static bool IsUsable(string certPath, string keyPath)
    {
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            return false;
        }

        try
        {
            using var certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            return certificate.NotAfter > DateTime.UtcNow.AddDays(14);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
