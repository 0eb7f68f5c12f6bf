using System.Security.Cryptography.X509Certificates;
using System.Text;
using Sealpost.Core;
using Sealpost.Crypto.Vault;

namespace Sealpost.Server.Tls;

/// <summary>
/// TLS certificates whose private keys live sealed in the keystore (entry <c>tls/NAME/key</c>) rather
/// than in a file an operator can copy; the chain (public) is kept next to it (<c>tls/NAME/chain</c>).
/// </summary>
public static class KeystoreCertificates
{
    /// <summary>Reads the two files and keeps them through the configuration service (audited, platform administrators).</summary>
    public static async Task ImportAsync(Sealpost.Domain.ConfigurationService configuration, Sealpost.Core.Access.Actor actor, string name, string chainFile, string keyFile, CancellationToken ct = default)
    {
        string chain, key;
        try
        {
            chain = await File.ReadAllTextAsync(chainFile, ct);
            key = await File.ReadAllTextAsync(keyFile, ct);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw SealpostException.Invalid($"cannot read '{chainFile}' or '{keyFile}': {ex.Message.Split('\n')[0]}");
        }

        await configuration.StoreTlsCertificateAsync(actor, name, chain, key, ct);
    }

    /// <summary>The resolver <see cref="CertificateStore"/> calls on every (re)load.</summary>
    public static Func<string, (string ChainPem, string KeyPem)?> Resolver(Keystore keystore) => name =>
    {
        var chain = keystore.GetSecretAsync($"tls/{name}/chain").GetAwaiter().GetResult();
        var key = keystore.GetSecretAsync($"tls/{name}/key").GetAwaiter().GetResult();
        return chain is null || key is null ? null : (Encoding.ASCII.GetString(chain), Encoding.ASCII.GetString(key));
    };
}
