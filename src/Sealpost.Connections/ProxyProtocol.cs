using System.Buffers;
using System.Buffers.Binary;
using System.Net;

namespace Sealpost.Connections;

/// <summary>
/// PROXY protocol version 2 (HAProxy's specification, §2.2): the binary header a load balancer puts
/// before the client's bytes. Pure: bytes in; the client's address, "need more data", or an error.
/// </summary>
public static class ProxyProtocol
{
    private static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public enum Status { NeedMoreData, Parsed, Invalid }

    /// <summary>
    /// Reads the header at the start of a connection (up to 10 s) without reading one byte past it: the
    /// client's first octets (or its TLS handshake) follow at once and belong to whatever reads next.
    /// Returns the client's address (null for a LOCAL header: keep the socket's), or an error and false
    /// if it is missing or broken.
    /// </summary>
    public static async Task<(bool Ok, IPEndPoint? Source, string Error)> ReadExactlyAsync(Stream stream, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            var fixedPart = new byte[16];
            var have = 0;
            while (have < fixedPart.Length)
            {
                var n = await stream.ReadAsync(fixedPart.AsMemory(have), timeout.Token);
                if (n == 0)
                {
                    throw new EndOfStreamException();
                }

                have += n;
                // A client that speaks its protocol at once (no header) is told apart on its first octets,
                // not after waiting for sixteen of them.
                if (have < fixedPart.Length && TryParse(new ReadOnlySequence<byte>(fixedPart, 0, have), out _, out _, out var wrong) == Status.Invalid)
                {
                    return (false, null, wrong);
                }
            }

            // Bytes 15-16: the length of the addresses that follow (RFC-less, haproxy's proxy-protocol.txt §2.2).
            var length = (fixedPart[14] << 8) | fixedPart[15];
            var header = new byte[16 + length];
            fixedPart.CopyTo(header, 0);
            if (TryParse(new ReadOnlySequence<byte>(fixedPart), out _, out _, out var early) == Status.Invalid)
            {
                return (false, null, early);
            }

            await stream.ReadExactlyAsync(header.AsMemory(16), timeout.Token);
            return TryParse(new ReadOnlySequence<byte>(header), out _, out var source, out var error) == Status.Parsed
                ? (true, source, "")
                : (false, null, error.Length > 0 ? error : "incomplete header");
        }
        catch (EndOfStreamException)
        {
            return (false, null, "connection closed before the header");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (false, null, "no header within 10 s");
        }
    }

    /// <summary>
    /// Parses a header at the start of <paramref name="buffer"/>. On success <paramref name="consumed"/>
    /// is the header's length and <paramref name="source"/> the client's address (null for LOCAL, a
    /// health check by the proxy itself, or for address families other than TCP over IPv4/IPv6).
    /// </summary>
    public static Status TryParse(ReadOnlySequence<byte> buffer, out int consumed, out IPEndPoint? source, out string error)
    {
        consumed = 0;
        source = null;
        error = "";
        if (buffer.Length < 16)
        {
            var have = (int)buffer.Length;
            Span<byte> start = stackalloc byte[have];
            buffer.Slice(0, have).CopyTo(start);
            if (!Signature[..Math.Min(have, 12)].SequenceEqual(start[..Math.Min(have, 12)]))
            {
                error = "not a PROXY v2 header";
                return Status.Invalid;
            }

            return Status.NeedMoreData;
        }

        Span<byte> header = stackalloc byte[16];
        buffer.Slice(0, 16).CopyTo(header);
        if (!header[..12].SequenceEqual(Signature))
        {
            error = "not a PROXY v2 header";
            return Status.Invalid;
        }

        if ((header[12] & 0xF0) != 0x20)
        {
            error = "unsupported PROXY protocol version";
            return Status.Invalid;
        }

        var command = header[12] & 0x0F;
        var length = BinaryPrimitives.ReadUInt16BigEndian(header[14..]);
        if (buffer.Length < 16 + length)
        {
            return Status.NeedMoreData;
        }

        consumed = 16 + length;
        if (command == 0x0)
        {
            return Status.Parsed; // LOCAL: the proxy's own connection
        }

        if (command != 0x1)
        {
            error = "unknown PROXY command";
            return Status.Invalid;
        }

        var addresses = buffer.Slice(16, length).ToArray();
        switch (header[13])
        {
            case 0x11 when length >= 12: // TCP over IPv4: src(4) dst(4) srcport(2) dstport(2)
                source = new IPEndPoint(new IPAddress(addresses.AsSpan(0, 4)), BinaryPrimitives.ReadUInt16BigEndian(addresses.AsSpan(8)));
                return Status.Parsed;
            case 0x21 when length >= 36: // TCP over IPv6: src(16) dst(16) srcport(2) dstport(2)
                source = new IPEndPoint(new IPAddress(addresses.AsSpan(0, 16)), BinaryPrimitives.ReadUInt16BigEndian(addresses.AsSpan(32)));
                return Status.Parsed;
            case 0x11 or 0x21:
                error = "PROXY address block too short";
                return Status.Invalid;
            default:
                return Status.Parsed; // UNSPEC, UDP or UNIX: accept the connection, no client address
        }
    }
}
