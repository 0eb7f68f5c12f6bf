namespace Sealpost.Mime;

/// <summary>
/// Quoted-printable decoding as RFC 2045 §6.7 defines it, line by line: trailing spaces and tabs on an
/// encoded line are transport padding and go (rule 3); a line that ends in "=" (padding after it
/// allowed) is a soft line break and joins the next (rule 5); "=XX" is an octet. An "=" that starts no
/// valid sequence is kept as it is (§6.7 note (2): be robust).
/// </summary>
public static class QuotedPrintable
{
    public static byte[] Decode(ReadOnlySpan<byte> encoded)
    {
        var output = new List<byte>(encoded.Length);
        while (!encoded.IsEmpty)
        {
            var lf = encoded.IndexOf((byte)'\n');
            var line = lf < 0 ? encoded : encoded[..lf];
            var hadBreak = lf >= 0;
            encoded = lf < 0 ? [] : encoded[(lf + 1)..];
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            line = line.TrimEnd(" \t"u8);
            var soft = line.Length > 0 && line[^1] == '=';
            if (soft)
            {
                line = line[..^1];
            }

            for (var i = 0; i < line.Length; i++)
            {
                if (line[i] == '=' && i + 2 < line.Length && IsHex(line[i + 1]) && IsHex(line[i + 2]))
                {
                    output.Add((byte)((Hex(line[i + 1]) << 4) | Hex(line[i + 2])));
                    i += 2;
                }
                else
                {
                    output.Add(line[i]);
                }
            }

            if (hadBreak && !soft)
            {
                output.Add((byte)'\r');
                output.Add((byte)'\n');
            }
        }

        return output.ToArray();
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'F' or >= (byte)'a' and <= (byte)'f';

    private static int Hex(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
