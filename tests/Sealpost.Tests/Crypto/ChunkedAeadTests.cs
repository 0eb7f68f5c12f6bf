using System.Security.Cryptography;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Tests.Crypto;

public sealed class ChunkedAeadTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] MessageId = RandomNumberGenerator.GetBytes(16);

    private static byte[] Plain(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1023)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(5000)]
    public void Round_trips_at_segment_boundaries(int length)
    {
        var plain = Plain(length);
        var sealedBytes = ChunkedAead.Seal(Key, MessageId, plain, segmentLog2: 10);
        Assert.Equal(ChunkedAead.SealedLength(length, 10), sealedBytes.Length);
        Assert.Equal(plain, ChunkedAead.Open(Key, sealedBytes));
    }

    [Fact]
    public async Task Streaming_seal_equals_in_memory_seal_and_ranges_decrypt_only_their_segments()
    {
        var plain = Plain(300_000);
        var output = new MemoryStream();
        await ChunkedAead.SealAsync(Key, MessageId, new MemoryStream(plain), plain.Length, output);
        Assert.Equal(ChunkedAead.Seal(Key, MessageId, plain), output.ToArray());

        // Corrupt segment 0: a range inside segment 3 still reads, because only segment 3 is decrypted.
        var sealedBytes = output.ToArray();
        sealedBytes[ChunkedAead.HeaderLength + 5] ^= 0xFF;
        var stream = new MemoryStream(sealedBytes);
        var range = await ChunkedAead.ReadRangeAsync(Key, stream, (3 * 65536) + 100, 5000);
        Assert.Equal(plain.AsSpan((3 * 65536) + 100, 5000).ToArray(), range);
        var spanning = await ChunkedAead.ReadRangeAsync(Key, stream, (2 * 65536) - 10, 20);
        Assert.Equal(plain.AsSpan((2 * 65536) - 10, 20).ToArray(), spanning);
        await Assert.ThrowsAnyAsync<CryptographicException>(() => ChunkedAead.ReadRangeAsync(Key, stream, 0, 10));
    }

    [Fact]
    public void A_flipped_bit_anywhere_is_detected()
    {
        var sealedBytes = ChunkedAead.Seal(Key, MessageId, Plain(3000), segmentLog2: 10);
        for (var i = 0; i < sealedBytes.Length; i += 97)
        {
            var copy = sealedBytes.ToArray();
            copy[i] ^= 0x01;
            Assert.ThrowsAny<CryptographicException>(() => ChunkedAead.Open(Key, copy));
        }
    }

    [Fact]
    public void Truncation_extension_and_reordering_are_detected()
    {
        var sealedBytes = ChunkedAead.Seal(Key, MessageId, Plain(3000), segmentLog2: 10);
        var segment = 1024 + ChunkedAead.TagLength;

        // Drop the last segment and rewrite the length so it claims to be complete at 2048 bytes.
        var truncated = sealedBytes.AsSpan(0, ChunkedAead.HeaderLength + (2 * segment)).ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(truncated.AsSpan(22), 2048);
        Assert.ThrowsAny<CryptographicException>(() => ChunkedAead.Open(Key, truncated));
        Assert.ThrowsAny<CryptographicException>(() => ChunkedAead.Open(Key, sealedBytes.AsSpan(0, sealedBytes.Length - 1)));
        Assert.ThrowsAny<CryptographicException>(() => ChunkedAead.Open(Key, [.. sealedBytes, 0]));

        var swapped = sealedBytes.ToArray();
        sealedBytes.AsSpan(ChunkedAead.HeaderLength, segment).CopyTo(swapped.AsSpan(ChunkedAead.HeaderLength + segment));
        sealedBytes.AsSpan(ChunkedAead.HeaderLength + segment, segment).CopyTo(swapped.AsSpan(ChunkedAead.HeaderLength));
        Assert.ThrowsAny<CryptographicException>(() => ChunkedAead.Open(Key, swapped));
    }

    [Fact]
    public void A_segment_moved_to_another_message_or_opened_with_another_key_fails()
    {
        var a = ChunkedAead.Seal(Key, MessageId, Plain(100));
        var otherId = RandomNumberGenerator.GetBytes(16);
        var relabelled = a.ToArray();
        otherId.CopyTo(relabelled, 6);
        Assert.ThrowsAny<CryptographicException>(() => ChunkedAead.Open(Key, relabelled));
        Assert.ThrowsAny<CryptographicException>(() => ChunkedAead.Open(RandomNumberGenerator.GetBytes(32), a));
    }
}
