using System.Security.Cryptography;
using System.Text;

namespace Sealpost.Core.Security;

/// <summary>
/// The pre-sealing stage: names stored as UTF-8, looked up by SHA-256 of the account id and name.
/// Kept only until the sealed-storage issue lands; nothing else in the code depends on the encoding.
/// </summary>
public sealed class PlaintextNameProtector : INameProtector
{
    public byte[] LookupKey(long accountId, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(accountId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\0" + name);
        return SHA256.HashData(bytes);
    }

    public byte[] Seal(long accountId, string name) => Encoding.UTF8.GetBytes(name);

    public string Unseal(long accountId, byte[] sealedName) => Encoding.UTF8.GetString(sealedName);
}
