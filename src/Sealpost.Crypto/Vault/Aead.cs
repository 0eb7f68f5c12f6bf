using System.Security.Cryptography;

namespace Sealpost.Crypto.Vault;

/// <summary>Small AES-256-GCM envelopes: nonce(12) | ciphertext | tag(16), with caller-built associated data.</summary>
internal static class Aead
{
    public const int Overhead = 28;

    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> aad)
    {
        var output = new byte[plaintext.Length + Overhead];
        RandomNumberGenerator.Fill(output.AsSpan(0, 12));
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(output.AsSpan(0, 12), plaintext, output.AsSpan(12, plaintext.Length), output.AsSpan(12 + plaintext.Length), aad);
        return output;
    }

    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> aad)
    {
        if (sealedBytes.Length < Overhead)
        {
            throw new CryptographicException("sealed value too short");
        }

        var output = new byte[sealedBytes.Length - Overhead];
        using var gcm = new AesGcm(key, 16);
        OpenWith(gcm, sealedBytes, output, aad);
        return output;
    }

    /// <summary>
    /// Opens <paramref name="sealedBytes"/> (nonce | ciphertext | tag, as <see cref="Seal"/> makes) where it
    /// lies: the plaintext overwrites the ciphertext, so a bulk read allocates nothing per value. Returns
    /// where the plaintext starts in the span; on failure the span's ciphertext is gone (zeroed).
    /// </summary>
    public static int OpenInPlace(AesGcm gcm, Span<byte> sealedBytes, ReadOnlySpan<byte> aad)
    {
        if (sealedBytes.Length < Overhead)
        {
            throw new CryptographicException("sealed value too short");
        }

        OpenWith(gcm, sealedBytes, sealedBytes[12..^16], aad); // the plaintext starts where the ciphertext does
        return 12;
    }

    /// <summary>Opens nonce | ciphertext | tag with a keyed AES-GCM the caller reuses, into <paramref name="plaintext"/> (its exact length).</summary>
    public static void OpenWith(AesGcm gcm, ReadOnlySpan<byte> sealedBytes, Span<byte> plaintext, ReadOnlySpan<byte> aad)
    {
        if (sealedBytes.Length < Overhead)
        {
            throw new CryptographicException("sealed value too short");
        }

        gcm.Decrypt(sealedBytes[..12], sealedBytes[12..^16], sealedBytes[^16..], plaintext, aad);
    }

    /// <summary>Associated data: a label, then big-endian integers and byte strings, as given.</summary>
    public static byte[] Context(ReadOnlySpan<byte> label, long a, int b, ReadOnlySpan<byte> extra = default)
    {
        var output = new byte[label.Length + 12 + extra.Length];
        label.CopyTo(output);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(output.AsSpan(label.Length), a);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(output.AsSpan(label.Length + 8), b);
        extra.CopyTo(output.AsSpan(label.Length + 12));
        return output;
    }
}
