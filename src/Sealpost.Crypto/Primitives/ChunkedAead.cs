using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Sealpost.Crypto.Primitives;

/// <summary>
/// Sealed content: AES-256-GCM per 64 KiB segment under a per-message key, so a partial read
/// decrypts only the segments it touches.
/// <code>
/// header  = "SPB1" | alg(1) | log2(segment)(1) | message id(16) | plaintext length(8, BE)       (30 bytes)
/// segment = ciphertext(segment bytes, the last one shorter) | tag(16)
/// nonce   = 0x00000000 | segment index(8, BE)     (the key is used for one message only)
/// aad     = header | segment index(8, BE) | final(1)
/// </code>
/// The header in every segment's AAD binds each segment to this message and its length; the index
/// stops reordering; the final flag and the length stop truncation and extension.
/// </summary>
public static class ChunkedAead
{
    public const int HeaderLength = 30;
    public const int TagLength = 16;
    public const byte AlgorithmAes256GcmChunked = 1;
    public const int DefaultSegmentLog2 = 16;
    private static ReadOnlySpan<byte> Magic => "SPB1"u8;

    public readonly record struct Header(byte Algorithm, int SegmentSize, byte[] MessageId, long Length)
    {
        public long SegmentCount => Length == 0 ? 1 : (Length + SegmentSize - 1) / SegmentSize;

        public long SealedLength => HeaderLength + Length + (SegmentCount * TagLength);
    }

    public static long SealedLength(long plaintextLength, int segmentLog2 = DefaultSegmentLog2) =>
        new Header(AlgorithmAes256GcmChunked, 1 << segmentLog2, new byte[16], plaintextLength).SealedLength;

    /// <summary>Seals a whole plaintext (streamed in, streamed out).</summary>
    public static async Task SealAsync(ReadOnlyMemory<byte> key, byte[] messageId, Stream plaintext, long length, Stream output, int segmentLog2 = DefaultSegmentLog2, CancellationToken ct = default)
    {
        var segmentSize = 1 << segmentLog2;
        var header = WriteHeader(messageId, length, segmentLog2);
        await output.WriteAsync(header, ct);
        var plain = new byte[segmentSize];
        var sealedBuffer = new byte[segmentSize + TagLength];
        using var gcm = new AesGcm(key.Span, TagLength);
        var segments = length == 0 ? 1 : (length + segmentSize - 1) / segmentSize;
        for (long i = 0; i < segments; i++)
        {
            var size = (int)Math.Min(segmentSize, length - (i * segmentSize));
            await plaintext.ReadExactlyAsync(plain.AsMemory(0, size), ct);
            EncryptSegment(gcm, header, i, i == segments - 1, plain.AsSpan(0, size), sealedBuffer.AsSpan(0, size + TagLength));
            await output.WriteAsync(sealedBuffer.AsMemory(0, size + TagLength), ct);
        }

        CryptographicOperations.ZeroMemory(plain);
    }

    public static byte[] Seal(ReadOnlySpan<byte> key, byte[] messageId, ReadOnlySpan<byte> plaintext, int segmentLog2 = DefaultSegmentLog2)
    {
        var segmentSize = 1 << segmentLog2;
        var header = WriteHeader(messageId, plaintext.Length, segmentLog2);
        var h = ReadHeader(header);
        var output = new byte[h.SealedLength];
        header.CopyTo(output, 0);
        using var gcm = new AesGcm(key, TagLength);
        var offset = HeaderLength;
        for (long i = 0; i < h.SegmentCount; i++)
        {
            var start = (int)(i * segmentSize);
            var size = Math.Min(segmentSize, plaintext.Length - start);
            EncryptSegment(gcm, header, i, i == h.SegmentCount - 1, plaintext.Slice(start, size), output.AsSpan(offset, size + TagLength));
            offset += size + TagLength;
        }

        return output;
    }

    public static byte[] WriteHeader(byte[] messageId, long length, int segmentLog2 = DefaultSegmentLog2)
    {
        if (messageId.Length != 16)
        {
            throw new ArgumentException("message id must be 16 bytes", nameof(messageId));
        }

        var header = new byte[HeaderLength];
        Magic.CopyTo(header);
        header[4] = AlgorithmAes256GcmChunked;
        header[5] = (byte)segmentLog2;
        messageId.CopyTo(header, 6);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(22), length);
        return header;
    }

    public static Header ReadHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderLength || !header[..4].SequenceEqual(Magic))
        {
            throw new CryptographicException("not a sealed blob");
        }

        if (header[4] != AlgorithmAes256GcmChunked || header[5] is < 10 or > 24)
        {
            throw new CryptographicException($"unknown sealed blob algorithm {header[4]}/{header[5]}");
        }

        var length = BinaryPrimitives.ReadInt64BigEndian(header[22..30]);
        if (length < 0)
        {
            throw new CryptographicException("negative length in sealed blob");
        }

        return new Header(header[4], 1 << header[5], header[6..22].ToArray(), length);
    }

    /// <summary>
    /// Decrypts plaintext bytes [offset, offset+count) from a seekable sealed stream, touching only
    /// the segments that hold them.
    /// </summary>
    public static async Task<byte[]> ReadRangeAsync(ReadOnlyMemory<byte> key, Stream sealedStream, long offset, int count, CancellationToken ct = default)
    {
        var headerBytes = new byte[HeaderLength];
        sealedStream.Position = 0;
        await sealedStream.ReadExactlyAsync(headerBytes, ct);
        var header = ReadHeader(headerBytes);
        if (sealedStream.Length != header.SealedLength)
        {
            throw new CryptographicException("sealed blob has the wrong length (truncated or extended)");
        }

        if (offset < 0 || count < 0 || offset > header.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        count = (int)Math.Min(count, header.Length - offset);
        var result = new byte[count];
        if (count == 0)
        {
            return result;
        }

        var size = header.SegmentSize;
        var first = offset / size;
        var last = (offset + count - 1) / size;
        var sealedSegment = new byte[size + TagLength];
        var plain = new byte[size];
        using var gcm = new AesGcm(key.Span, TagLength);
        var written = 0;
        for (var i = first; i <= last; i++)
        {
            var segmentLength = (int)Math.Min(size, header.Length - (i * size));
            sealedStream.Position = HeaderLength + (i * (size + TagLength));
            await sealedStream.ReadExactlyAsync(sealedSegment.AsMemory(0, segmentLength + TagLength), ct);
            DecryptSegment(gcm, headerBytes, i, i == header.SegmentCount - 1, sealedSegment.AsSpan(0, segmentLength + TagLength), plain.AsSpan(0, segmentLength));
            var from = i == first ? (int)(offset - (i * size)) : 0;
            var take = Math.Min(segmentLength - from, count - written);
            plain.AsSpan(from, take).CopyTo(result.AsSpan(written));
            written += take;
        }

        CryptographicOperations.ZeroMemory(plain);
        return result;
    }

    /// <summary>Decrypts a whole sealed blob held in memory (every segment checked, including the final flag).</summary>
    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedBytes)
    {
        var header = ReadHeader(sealedBytes);
        if (sealedBytes.Length != header.SealedLength)
        {
            throw new CryptographicException("sealed blob has the wrong length (truncated or extended)");
        }

        var headerBytes = sealedBytes[..HeaderLength];
        var output = new byte[header.Length];
        using var gcm = new AesGcm(key, TagLength);
        var offset = HeaderLength;
        for (long i = 0; i < header.SegmentCount; i++)
        {
            var size = (int)Math.Min(header.SegmentSize, header.Length - (i * header.SegmentSize));
            DecryptSegment(gcm, headerBytes, i, i == header.SegmentCount - 1, sealedBytes.Slice(offset, size + TagLength), output.AsSpan((int)(i * header.SegmentSize), size));
            offset += size + TagLength;
        }

        return output;
    }

    private static void EncryptSegment(AesGcm gcm, ReadOnlySpan<byte> header, long index, bool final, ReadOnlySpan<byte> plain, Span<byte> output)
    {
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> aad = stackalloc byte[HeaderLength + 9];
        Prepare(header, index, final, nonce, aad);
        gcm.Encrypt(nonce, plain, output[..plain.Length], output[plain.Length..], aad);
    }

    private static void DecryptSegment(AesGcm gcm, ReadOnlySpan<byte> header, long index, bool final, ReadOnlySpan<byte> sealedSegment, Span<byte> plain)
    {
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> aad = stackalloc byte[HeaderLength + 9];
        Prepare(header, index, final, nonce, aad);
        gcm.Decrypt(nonce, sealedSegment[..^TagLength], sealedSegment[^TagLength..], plain, aad);
    }

    private static void Prepare(ReadOnlySpan<byte> header, long index, bool final, Span<byte> nonce, Span<byte> aad)
    {
        nonce.Clear();
        BinaryPrimitives.WriteInt64BigEndian(nonce[4..], index);
        header[..HeaderLength].CopyTo(aad);
        BinaryPrimitives.WriteInt64BigEndian(aad.Slice(HeaderLength, 8), index);
        aad[HeaderLength + 8] = final ? (byte)1 : (byte)0;
    }
}
