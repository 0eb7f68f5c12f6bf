using System.Security.Cryptography;

namespace Sealpost.Crypto.Primitives;

/// <summary>One share: its x coordinate (1-255) and one y byte per secret byte.</summary>
public sealed record ShamirShare(byte X, byte[] Y);

/// <summary>
/// Shamir's secret sharing over GF(2^8) with the AES reduction polynomial x^8+x^4+x^3+x+1, byte by byte:
/// each secret byte is the constant term of its own random polynomial of degree k-1, and share i holds
/// every polynomial's value at x = i. Any k shares give the secret by Lagrange interpolation at 0; k-1
/// shares are consistent with every value of every byte. Field arithmetic has no tables and no
/// data-dependent branches, so its timing does not depend on the shares.
/// </summary>
public static class Shamir
{
    public const int MaxShares = 255;

    public static IReadOnlyList<ShamirShare> Split(ReadOnlySpan<byte> secret, int shares, int threshold)
    {
        if (threshold < 2 || threshold > shares || shares > MaxShares)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), "need 2 <= threshold <= shares <= 255");
        }

        if (secret.IsEmpty)
        {
            throw new ArgumentException("the secret is empty", nameof(secret));
        }

        var result = new ShamirShare[shares];
        for (var i = 0; i < shares; i++)
        {
            result[i] = new ShamirShare((byte)(i + 1), new byte[secret.Length]);
        }

        var coefficients = new byte[threshold];
        for (var b = 0; b < secret.Length; b++)
        {
            coefficients[0] = secret[b];
            RandomNumberGenerator.Fill(coefficients.AsSpan(1));
            foreach (var share in result)
            {
                // Horner's rule from the highest coefficient down.
                byte y = 0;
                for (var c = threshold - 1; c >= 0; c--)
                {
                    y = (byte)(Multiply(y, share.X) ^ coefficients[c]);
                }

                share.Y[b] = y;
            }
        }

        CryptographicOperations.ZeroMemory(coefficients);
        return result;
    }

    /// <summary>The secret from shares with distinct non-zero x and equal lengths (at least the threshold's number of them).</summary>
    public static byte[] Combine(IReadOnlyList<ShamirShare> shares)
    {
        if (shares.Count < 2)
        {
            throw new ArgumentException("at least two shares are needed", nameof(shares));
        }

        var length = shares[0].Y.Length;
        var seen = new HashSet<byte>();
        foreach (var share in shares)
        {
            if (share.X == 0 || !seen.Add(share.X))
            {
                throw new ArgumentException("shares need distinct, non-zero x coordinates", nameof(shares));
            }

            if (share.Y.Length != length || length == 0)
            {
                throw new ArgumentException("shares differ in length", nameof(shares));
            }
        }

        // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); in GF(2^8) subtraction is XOR.
        var basis = new byte[shares.Count];
        for (var i = 0; i < shares.Count; i++)
        {
            byte numerator = 1, denominator = 1;
            for (var j = 0; j < shares.Count; j++)
            {
                if (j != i)
                {
                    numerator = Multiply(numerator, shares[j].X);
                    denominator = Multiply(denominator, (byte)(shares[j].X ^ shares[i].X));
                }
            }

            basis[i] = Multiply(numerator, Inverse(denominator));
        }

        var secret = new byte[length];
        for (var b = 0; b < length; b++)
        {
            byte value = 0;
            for (var i = 0; i < shares.Count; i++)
            {
                value ^= Multiply(basis[i], shares[i].Y[b]);
            }

            secret[b] = value;
        }

        return secret;
    }

    /// <summary>Product in GF(2^8) mod 0x11B, by shift-and-add with masks instead of branches.</summary>
    internal static byte Multiply(byte a, byte b)
    {
        int x = a, y = b, product = 0;
        for (var i = 0; i < 8; i++)
        {
            product ^= x & -(y & 1);
            y >>= 1;
            x = (x << 1) ^ (0x11B & -((x >> 7) & 1));
        }

        return (byte)product;
    }

    /// <summary>a^254 = a^-1 for a != 0 (and 0 for 0).</summary>
    internal static byte Inverse(byte a)
    {
        byte result = 1, power = a;
        for (var e = 254; e > 0; e >>= 1)
        {
            if ((e & 1) == 1)
            {
                result = Multiply(result, power);
            }

            power = Multiply(power, power);
        }

        return result;
    }
}
