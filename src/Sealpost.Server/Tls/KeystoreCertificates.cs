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
    public static async Task ImportAsync(Keystore keystore, string name, string chainFile, string keyFile, CancellationToken ct = default)
    {
        string chain, key;
        try
        {
            chain = await File.ReadAllTextAsync(chainFile, ct);
            key = await File.ReadAllTextAsync(keyFile, ct);
            using var check = X509Certificate2.CreateFromPem(chain, key);
            if (!check.HasPrivateKey)
            {
                throw SealpostException.Invalid("the key does not belong to the certificate");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw SealpostException.Invalid($"cannot use '{chainFile}' with '{keyFile}': {ex.Message.Split('\n')[0]}");
        }

        await keystore.PutSecretAsync($"tls/{name}/chain", Encoding.ASCII.GetBytes(chain), ct);
        await keystore.PutSecretAsync($"tls/{name}/key", Encoding.ASCII.GetBytes(key), ct);
    }

    /// <summary>The resolver <see cref="CertificateStore"/> calls on every (re)load.</summary>
    public static Func<string, (string ChainPem, string KeyPem)?> Resolver(Keystore keystore) => name =>
    {
        var chain = keystore.GetSecretAsync($"tls/{name}/chain").GetAwaiter().GetResult();
        var key = keystore.GetSecretAsync($"tls/{name}/key").GetAwaiter().GetResult();
        return chain is null || key is null ? null : (Encoding.ASCII.GetString(chain), Encoding.ASCII.GetString(key));
    };
}
