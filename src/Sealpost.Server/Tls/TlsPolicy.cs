using System.Net.Security;
using System.Security.Authentication;
using Sealpost.Core.Configuration;

namespace Sealpost.Server.Tls;

/// <summary>
/// TLS 1.2 and 1.3 only (or 1.3 only), forward-secret suites only. Every listener, HTTPS, SMTP or
/// IMAP, takes its server options from here.
/// <para>
/// <c>Tls:CipherSuites = Default</c> leaves the TLS 1.2 list to the runtime, which on Linux offers only
/// ECDHE suites with AES-GCM or AES-CBC and SHA-256/384 MACs (no SHA-1, no RSA key exchange, no 3DES
/// or RC4); <c>AeadOnly</c> narrows it to the Mozilla "intermediate" AEAD suites. The price of any
/// cipher-suite policy: the runtime on Linux then makes an OpenSSL context (SSL_CTX) per connection
/// instead of sharing one, about 12 KB per idle connection (measured with
/// <c>Sealpost.Bench imap-memory</c>), which is why it is not the default. TLS 1.3 suites are all
/// AEAD, so a TLS-1.3-only server never needs the policy.
/// </para>
/// </summary>
public static class TlsPolicy
{
    public static readonly TlsCipherSuite[] AeadCipherSuites =
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

    private static readonly CipherSuitesPolicy? AeadPolicy = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? new CipherSuitesPolicy(AeadCipherSuites) : null;

    public static SslProtocols Protocols(string minimum) =>
        minimum == "Tls13" ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Server options for one handshake, with the certificate chosen by SNI.</summary>
    public static SslServerAuthenticationOptions ServerOptions(CertificateStore certificates, string? serverName, TlsOptions tls, List<SslApplicationProtocol>? alpn = null)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificates.Select(serverName),
            EnabledSslProtocols = Protocols(tls.MinimumProtocol),
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            ApplicationProtocols = alpn,
        };
        if (AeadPolicy is not null && tls.CipherSuites == "AeadOnly" && tls.MinimumProtocol != "Tls13")
        {
            options.CipherSuitesPolicy = AeadPolicy;
        }

        return options;
    }
}
