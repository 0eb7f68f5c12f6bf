using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Configuration;

namespace Sealpost.Server.Tls;

/// <summary>
/// The server's certificates, chosen per handshake by SNI host name: an exact name first, then a
/// wildcard (*.example.org matches one label), then the first certificate. Files are re-read when
/// they change (polled) or on <see cref="Reload"/> (SIGHUP in the server); a reload that fails keeps
/// the certificates in use and logs why, so a half-copied renewal never takes TLS down.
/// </summary>
public sealed class CertificateStore : IDisposable
{
    private readonly IReadOnlyList<CertificateOptions> _sources;
    private readonly ILogger _logger;
    private readonly Timer? _timer;
    private readonly Lock _reloadLock = new();
    private volatile Loaded _loaded;

    private readonly Func<string, (string ChainPem, string KeyPem)?>? _keystore;
    private readonly string? _acmeStandIn;
    private Entry? _standIn;

    /// <param name="keystore">Resolves a keystore certificate name to its PEM chain and key (read on every load, so a re-import plus SIGHUP renews it).</param>
    /// <param name="acme">
    /// The host name to make a stand-in certificate for when ACME is on: the ACME certificate (keystore
    /// name <see cref="AcmeOptions.KeystoreName"/>) comes first once issued and is the default; until
    /// then, with no other certificate, a self-signed stand-in answers.
    /// </param>
    public CertificateStore(IReadOnlyList<CertificateOptions> sources, TimeSpan pollInterval, ILogger logger, Func<string, (string ChainPem, string KeyPem)?>? keystore = null, string? acme = null)
    {
        _keystore = keystore;
        _acmeStandIn = acme;
        if (sources.Count == 0 && acme is null)
        {
            throw SealpostException.Invalid("Tls:Certificates: at least one certificate is needed (or Tls:Acme:DirectoryUrl)");
        }

        _sources = sources;
        _logger = logger;
        _loaded = Load(); // fail at start if the files are bad
        if (pollInterval > TimeSpan.Zero)
        {
            _timer = new Timer(_ => ReloadIfChanged(), null, pollInterval, pollInterval);
        }
    }

    /// <summary>Number of successful loads, for tests and the health page.</summary>
    public int Generation => _loaded.Generation;

    /// <summary>The certificate that answers <paramref name="serverName"/>.</summary>
    public SslStreamCertificateContext Select(string? serverName)
    {
        var loaded = _loaded;
        if (!string.IsNullOrEmpty(serverName))
        {
            var host = serverName.TrimEnd('.').ToLowerInvariant();
            if (loaded.Exact.TryGetValue(host, out var exact))
            {
                return exact.Context;
            }

            var dot = host.IndexOf('.');
            if (dot > 0 && loaded.Wildcard.TryGetValue(host[(dot + 1)..], out var wildcard))
            {
                return wildcard.Context;
            }
        }

        return loaded.Default.Context;
    }

    public X509Certificate2 SelectCertificate(string? serverName) => Select(serverName).TargetCertificate;

    /// <summary>Re-reads every file now. Returns false (and keeps the current set) if any fails.</summary>
    public bool Reload()
    {
        lock (_reloadLock)
        {
            try
            {
                var next = Load(_loaded.Generation + 1);
                _loaded = next;
                ServerLog.CertificatesReloaded(_logger, next.Entries.Count, next.Generation);
                return true;
            }
            catch (Exception ex) when (ex is SealpostException or IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
            {
                ServerLog.CertificateReloadFailed(_logger, ex.Message);
                return false;
            }
        }
    }

    private void ReloadIfChanged()
    {
        var loaded = _loaded;
        if (loaded.Entries.Any(e => e.Files.Any(f => GetStamp(f.Path) != f.Stamp)))
        {
            Reload();
        }
    }

    /// <summary>The ACME certificate's expiry and names, or null while none is issued.</summary>
    public (DateTimeOffset NotAfter, IReadOnlyList<string> Hosts)? Acme => _loaded.Acme;

    private Loaded Load(int generation = 1)
    {
        var entries = new List<Entry>();
        (DateTimeOffset, IReadOnlyList<string>)? acme = null;
        if (_acmeStandIn is not null && _keystore?.Invoke(AcmeOptions.KeystoreName) is not null)
        {
            var entry = LoadOne(new CertificateOptions { Keystore = AcmeOptions.KeystoreName }, "Tls:Acme", _keystore);
            entries.Add(entry);
            acme = (new DateTimeOffset(entry.Context.TargetCertificate.NotAfter.ToUniversalTime()), entry.Hosts);
        }

        for (var i = 0; i < _sources.Count; i++)
        {
            entries.Add(LoadOne(_sources[i], $"Tls:Certificates:{i}", _keystore));
        }

        if (entries.Count == 0)
        {
            // ACME on and nothing issued yet: a self-signed stand-in, made once, until the CA answers.
            _standIn ??= StandIn(_acmeStandIn!);
            entries.Add(_standIn);
        }

        var exact = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var wildcard = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            foreach (var host in entry.Hosts)
            {
                if (host.StartsWith("*.", StringComparison.Ordinal))
                {
                    wildcard.TryAdd(host[2..], entry);
                }
                else
                {
                    exact.TryAdd(host, entry);
                }
            }
        }

        return new Loaded(entries, exact, wildcard, entries[0], generation, acme);
    }

    private static Entry LoadOne(CertificateOptions source, string key, Func<string, (string ChainPem, string KeyPem)?>? keystore)
    {
        X509Certificate2 certificate;
        var chain = new X509Certificate2Collection();
        var files = new List<(string Path, DateTime Stamp)>();
        try
        {
            if (source.Keystore is { } name)
            {
                var pem = keystore?.Invoke(name) ?? throw SealpostException.NotFound($"{key}: no certificate '{name}' in the keystore (sealpost tls import)");
                certificate = X509Certificate2.CreateFromPem(pem.ChainPem, pem.KeyPem);
                var all = new X509Certificate2Collection();
                all.ImportFromPem(pem.ChainPem);
                chain.AddRange(all.Skip(1).ToArray());
            }
            else if (source.Pkcs12File is { } p12)
            {
                var password = source.Pkcs12PasswordEnvironmentVariable is { } variable ? Environment.GetEnvironmentVariable(variable) : null;
                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(p12, password, X509KeyStorageFlags.EphemeralKeySet);
                certificate = all.FirstOrDefault(c => c.HasPrivateKey)
                    ?? throw SealpostException.Invalid($"{key}: '{p12}' holds no certificate with a private key");
                chain.AddRange(all.Where(c => !ReferenceEquals(c, certificate)).ToArray());
                files.Add((p12, GetStamp(p12)));
            }
            else
            {
                var certFile = source.CertificateFile!;
                var keyFile = source.KeyFile!;
                certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
                var pem = new X509Certificate2Collection();
                pem.ImportFromPemFile(certFile);
                chain.AddRange(pem.Skip(1).ToArray());
                files.Add((certFile, GetStamp(certFile)));
                files.Add((keyFile, GetStamp(keyFile)));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw SealpostException.Invalid($"{key}: cannot load the certificate: {ex.Message.Split('\n')[0]}");
        }

        if (!certificate.HasPrivateKey)
        {
            throw SealpostException.Invalid($"{key}: the certificate has no private key");
        }

        var hosts = source.Hosts.Count > 0
            ? source.Hosts.Select(h => h.ToLowerInvariant()).ToList()
            : NamesOf(certificate);
        var context = SslStreamCertificateContext.Create(certificate, chain, offline: true);
        return new Entry(hosts, context, files);
    }

    public static List<string> NamesOf(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames().Select(n => n.ToLowerInvariant()));
            }
        }

        if (names.Count == 0 && certificate.GetNameInfo(X509NameType.DnsName, false) is { Length: > 0 } cn)
        {
            names.Add(cn.ToLowerInvariant());
        }

        return names;
    }

    private static DateTime GetStamp(string path)
    {
        try
        {
            return File.GetLastWriteTimeUtc(path);
        }
        catch (IOException)
        {
            return DateTime.MinValue;
        }
    }

    public void Dispose() => _timer?.Dispose();

    private sealed record Entry(List<string> Hosts, SslStreamCertificateContext Context, List<(string Path, DateTime Stamp)> Files);

    private sealed record Loaded(List<Entry> Entries, Dictionary<string, Entry> Exact, Dictionary<string, Entry> Wildcard, Entry Default, int Generation, (DateTimeOffset NotAfter, IReadOnlyList<string> Hosts)? Acme);

    private static Entry StandIn(string hostname)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostname}, O=Sealpost awaiting ACME", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostname);
        request.CertificateExtensions.Add(san.Build());
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(7));
        // Exported and re-imported so the key is usable by SslStream on every platform.
        var certificate = X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
        return new Entry([], SslStreamCertificateContext.Create(certificate, null, offline: true), []);
    }
}
