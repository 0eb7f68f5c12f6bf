using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// COMPRESS=DEFLATE (RFC 4978): raw DEFLATE both ways from the octet after the tagged OK; each flush is
// a sync flush, so a response is never held back in the compressor.
public sealed partial class ImapSession
{
    private async Task<After> CompressAsync(string tag, string mechanism, CancellationToken ct)
    {
        if (_connection.Compressed)
        {
            Tagged(tag, "NO", ResponseCode.CompressionActive, "Compression is already active");
            return After.Next;
        }

        if (!mechanism.Equals("DEFLATE", StringComparison.OrdinalIgnoreCase))
        {
            Send($"{tag} BAD Unknown compression mechanism");
            return After.Next;
        }

        if (_connection.HasBufferedInput())
        {
            Send("* BYE Commands pipelined after COMPRESS cannot be read");
            return After.Stop;
        }

        Ok(tag, "DEFLATE active");
        await FlushAsync(ct);
        _connection.StartCompression();
        return After.Next;
    }
}
