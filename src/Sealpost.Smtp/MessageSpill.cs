using System.Security.Cryptography;

namespace Sealpost.Smtp;

/// <summary>
/// Where a large message's octets wait on disk while it is received: a file without a name (unlinked
/// as soon as it is open, so a stop or a kill leaves nothing behind and a backup never sees it),
/// written in 64 KiB segments each sealed with AES-256-GCM under a key that exists only in this
/// process's memory (segment number as nonce). Holding the disk gives nobody the message.
/// </summary>
internal sealed class MessageSpill : IDisposable
{
    private const int TagSize = 16;
    private readonly FileStream _file;
    private readonly AesGcm _aead;
    private readonly byte[] _sealed;
    private readonly int _segmentSize;
    private long _segments;

    public MessageSpill(string directory, int segmentSize)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "incoming-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        _file = new FileStream(path, options);
        File.Delete(path); // the open handle keeps the data; the name is gone
        var key = RandomNumberGenerator.GetBytes(32);
        _aead = new AesGcm(key, TagSize);
        CryptographicOperations.ZeroMemory(key);
        _segmentSize = segmentSize;
        _sealed = new byte[segmentSize + TagSize];
    }

    /// <summary>Segments written so far.</summary>
    public long Count => _segments;

    /// <summary>Seals one whole segment and appends it.</summary>
    public void Append(ReadOnlySpan<byte> segment)
    {
        _aead.Encrypt(Nonce(_segments), segment, _sealed.AsSpan(0, _segmentSize), _sealed.AsSpan(_segmentSize, TagSize));
        _file.Write(_sealed);
        _segments++;
    }

    /// <summary>Every segment, opened, into <paramref name="into"/> (Count x segment size octets).</summary>
    public void ReadAll(Span<byte> into)
    {
        _file.Position = 0;
        for (long i = 0; i < _segments; i++)
        {
            _file.ReadExactly(_sealed);
            _aead.Decrypt(Nonce(i), _sealed.AsSpan(0, _segmentSize), _sealed.AsSpan(_segmentSize, TagSize), into.Slice((int)(i * _segmentSize), _segmentSize));
        }
    }

    private static byte[] Nonce(long segment)
    {
        var nonce = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(nonce.AsSpan(4), segment);
        return nonce;
    }

    public void Dispose()
    {
        _file.Dispose();
        _aead.Dispose();
        CryptographicOperations.ZeroMemory(_sealed);
    }
}
