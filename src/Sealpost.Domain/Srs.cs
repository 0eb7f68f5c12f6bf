using System.Security.Cryptography;
using System.Text;

namespace Sealpost.Domain;

/// <summary>
/// The Sender Rewriting Scheme, so SPF holds when an alias or group forwards mail to another
/// organisation: the envelope sender <c>local@origin</c> becomes
/// <c>SRS0=HHHH=TT=origin=local@our-domain</c> (HHHH: the first four base64 characters of an
/// HMAC-SHA-256 over TT, origin and local, compared without regard to case; TT: the day, base32, mod
/// 1024). A bounce to that address is accepted for 21 days and sent back to the original sender;
/// anything else shaped like it is refused, so the scheme is no open relay.
/// </summary>
public sealed class Srs(byte[] secret, TimeProvider time)
{
    private const string Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const int MaxAgeDays = 21;

    /// <summary>The rewritten sender; the null sender stays null (bounces are never forwarded with a sender).</summary>
    public string Forward(string sender, string ourDomain)
    {
        var at = sender.LastIndexOf('@');
        if (sender.Length == 0 || at <= 0)
        {
            return sender;
        }

        var (local, origin) = (sender[..at], sender[(at + 1)..]);
        if (local.StartsWith("SRS0=", StringComparison.OrdinalIgnoreCase) && origin.Equals(ourDomain, StringComparison.OrdinalIgnoreCase))
        {
            return sender; // already ours
        }

        var day = Today();
        var stamp = $"{Base32[(day >> 5) & 31]}{Base32[day & 31]}";
        return $"SRS0={Hash(stamp, origin, local)}={stamp}={origin}={local}@{ourDomain}";
    }

    /// <summary>The original sender of an SRS0 local part we made, within its lifetime; false otherwise.</summary>
    public bool TryReverse(string localPart, out string original)
    {
        original = "";
        if (!localPart.StartsWith("SRS0=", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var parts = localPart[5..].Split('=', 4);
        if (parts.Length != 4 || parts[1].Length != 2 || parts[2].Length == 0 || parts[3].Length == 0)
        {
            return false;
        }

        var (hash, stamp, origin, local) = (parts[0], parts[1].ToUpperInvariant(), parts[2], parts[3]);
        var high = Base32.IndexOf(stamp[0], StringComparison.Ordinal);
        var low = Base32.IndexOf(stamp[1], StringComparison.Ordinal);
        if (high < 0 || low < 0 || !string.Equals(hash, Hash(stamp, origin, local), StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var age = (Today() - ((high << 5) | low) + 1024) % 1024;
        if (age > MaxAgeDays)
        {
            return false;
        }

        original = $"{local}@{origin}";
        return true;
    }

    private int Today() => (int)(time.GetUtcNow().ToUnixTimeSeconds() / 86_400 % 1024);

    private string Hash(string stamp, string origin, string local)
    {
        var mac = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{stamp}{origin}{local}".ToLowerInvariant()));
        return Convert.ToBase64String(mac)[..4];
    }
}
