using System.Net.Security;
using System.Security.Authentication;

namespace Sealpost.Server.Tls;

/// <summary>
/// TLS 1.2 and 1.3 only, forward-secret AEAD suites only (the Mozilla "intermediate" profile, which
/// still admits the clients a government estate actually runs). Every listener, HTTPS, SMTP or
/// IMAP, takes its server options from here.
/// </summary>
public static class TlsPolicy
{
    public static readonly TlsCipherSuite[] CipherSuites =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    // With any cipher-suite policy set, the runtime on Linux makes an OpenSSL context (SSL_CTX) per
    // connection instead of sharing one: about 11 KB per idle connection (measured with
    // `Sealpost.Bench imap-memory`). TLS 1.3 suites are all AEAD already, so a TLS-1.3-only server
    // sets no policy and shares the context.
    private static readonly CipherSuitesPolicy? Policy = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? new CipherSuitesPolicy(CipherSuites) : null;

    public static SslProtocols Protocols(string minimum) =>
        minimum == "Tls13" ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Server options for one handshake, with the certificate chosen by SNI.</summary>
    public static SslServerAuthenticationOptions ServerOptions(CertificateStore certificates, string? serverName, string minimumProtocol, List<SslApplicationProtocol>? alpn = null)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificates.Select(serverName),
            EnabledSslProtocols = Protocols(minimumProtocol),
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            ApplicationProtocols = alpn,
        };
        if (Policy is not null && minimumProtocol != "Tls13")
        {
            options.CipherSuitesPolicy = Policy;
        }

        return options;
    }
}
