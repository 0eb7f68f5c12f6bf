using System.Security.Cryptography;
using System.Text;
using Sealpost.Core.Addressing;

namespace Sealpost.Core.Logging;

/// <summary>
/// The one seam through which identifying values reach a log line. Addresses become a keyed hash
/// ("a:3f9c1e0b7d2a4c55"): stable within one installation so lines can be correlated, useless to
/// someone holding only the logs, because the key lives in the data folder, not in the logs.
/// </summary>
public sealed class LogRedactor
{
    private readonly byte[] _key;

    public LogRedactor(byte[] key)
    {
        if (key.Length < 16)
        {
            throw new ArgumentException("log redaction key must be at least 16 bytes", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>A redactor with a random key: hashes do not correlate across processes.</summary>
    public static LogRedactor Ephemeral() => new(RandomNumberGenerator.GetBytes(32));

    public RedactedValue Address(MailAddress address) => Hash("a:", address.Key);

    public RedactedValue Address(string address) =>
        MailAddress.TryParse(address, out var parsed, out _) ? Address(parsed) : Hash("a:", address);

    public RedactedValue Domain(DomainName domain) => new(domain.Ascii);

    private RedactedValue Hash(string prefix, string value)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(value), mac);
        return new RedactedValue(prefix + Convert.ToHexStringLower(mac[..8]));
    }
}

/// <summary>A value that is safe to log. Only <see cref="LogRedactor"/> makes them from sensitive input.</summary>
public readonly record struct RedactedValue(string Text)
{
    public override string ToString() => Text;
}
