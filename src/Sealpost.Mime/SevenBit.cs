using MimeKit;

namespace Sealpost.Mime;

/// <summary>
/// Re-encodes 8-bit message bodies as 7-bit (quoted-printable or base64, RFC 6152 §3's conversion)
/// before a DKIM signature covers them: a next hop without 8BITMIME would otherwise make the sending
/// client convert them after signing and break the signature. Headers are left alone (8-bit headers
/// need SMTPUTF8 and cannot be downgraded this way).
/// </summary>
public static class SevenBit
{
    /// <summary>
    /// The message with every 8-bit body part made 7-bit; the same array when nothing needed it or
    /// when its header block cannot be read as MIME (there are no parts to re-encode then).
    /// </summary>
    public static byte[] Downgrade(byte[] message)
    {
        if (message.AsSpan().IndexOfAnyInRange((byte)0x80, (byte)0xFF) < 0)
        {
            return message;
        }

        MimeMessage parsed;
        try
        {
            using var stream = new MemoryStream(message);
            parsed = MimeMessage.Load(stream);
        }
        catch (FormatException)
        {
            return message;
        }

        var changed = false;
        foreach (var part in parsed.BodyParts.OfType<MimePart>())
        {
            if (part.ContentTransferEncoding is ContentEncoding.EightBit or ContentEncoding.Binary or ContentEncoding.Default
                && part.GetBestEncoding(EncodingConstraint.SevenBit) is var best && best is ContentEncoding.QuotedPrintable or ContentEncoding.Base64)
            {
                part.ContentTransferEncoding = best;
                changed = true;
            }
        }

        if (!changed)
        {
            return message;
        }

        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        using var output = new MemoryStream();
        parsed.WriteTo(format, output);
        return output.ToArray();
    }
}
