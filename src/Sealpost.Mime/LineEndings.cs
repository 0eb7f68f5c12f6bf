namespace Sealpost.Mime;

/// <summary>
/// Messages are stored with CRLF line ends (RFC 5322 §2.1, and what IMAP serves), so sizes and
/// offsets in the metadata are the ones clients see. A bare LF becomes CRLF; a bare CR is kept
/// (the SMTP layer decides what to do with those before a message gets here).
/// </summary>
public static class LineEndings
{
    public static ReadOnlyMemory<byte> ToCrlf(ReadOnlyMemory<byte> message)
    {
        var span = message.Span;
        var bare = 0;
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] == '\n' && (i == 0 || span[i - 1] != '\r'))
            {
                bare++;
            }
        }

        if (bare == 0)
        {
            return message;
        }

        var output = new byte[span.Length + bare];
        var o = 0;
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] == '\n' && (i == 0 || span[i - 1] != '\r'))
            {
                output[o++] = (byte)'\r';
            }

            output[o++] = span[i];
        }

        return output;
    }
}
