using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sealpost.Tests.Support;

/// <summary>A throw-away certificate authority that issues PEM files for host names, in a temp folder.</summary>
public sealed class TestCa : IDisposable
{
    private readonly TempFolder _folder = new("sealpost-test-ca");
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _certificate;

    public TestCa(string name)
    {
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        RootFile = _folder.Sub("ca.pem");
        File.WriteAllText(RootFile, _certificate.ExportCertificatePem());
    }

    /// <summary>The CA's certificate (PEM): what a trusting client is given.</summary>
    public string RootFile { get; }

    /// <summary>A certificate for <paramref name="host"/>: (chain file, key file).</summary>
    public (string Certificate, string Key) Issue(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        using var leaf = request.Create(_certificate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));
        var id = Guid.NewGuid().ToString("N");
        var certificate = _folder.Sub($"{host}-{id}.pem");
        var keyFile = _folder.Sub($"{host}-{id}.key");
        File.WriteAllText(certificate, leaf.ExportCertificatePem() + "\n" + _certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certificate, keyFile);
    }

    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
        _folder.Dispose();
    }
}
