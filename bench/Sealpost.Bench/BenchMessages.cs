using System.Text;

namespace Sealpost.Bench;

/// <summary>Deterministic test messages: the same index always gives the same bytes, so a reader can verify what a writer acknowledged.</summary>
public static class BenchMessages
{
    public static byte[] Content(long index, int size)
    {
        var header = Encoding.ASCII.GetBytes(
            $"From: bench{index % 97}@bench.example\r\nTo: user@bench.example\r\nSubject: bench message {index}\r\n" +
            $"Message-ID: <{index}@bench.example>\r\nDate: Sat, 28 Nov 2026 00:00:00 +0000\r\n\r\n");
        var bytes = new byte[Math.Max(size, header.Length + 2)];
        header.CopyTo(bytes, 0);
        var line = Encoding.ASCII.GetBytes($"line of message {index} ............................................................\r\n");
        for (var i = header.Length; i < bytes.Length; i++)
        {
            bytes[i] = line[(i - header.Length) % line.Length];
        }

        bytes[^2] = (byte)'\r';
        bytes[^1] = (byte)'\n';
        return bytes;
    }
}
