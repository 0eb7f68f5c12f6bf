using System.IO.Compression;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// COMPRESS=DEFLATE (RFC 4978): raw DEFLATE both ways from the octet after the tagged OK; each flush is
// a sync flush, so a response is never held back in the compressor.
public sealed partial class ImapSession
{
    private async Task<After> CompressAsync(string tag, string mechanism, CancellationToken ct)
    {
        if (_compressed)
        {
            Tagged(tag, "NO", ResponseCode.CompressionActive, "Compression is already active");
            return After.Next;
        }

        if (!mechanism.Equals("DEFLATE", StringComparison.OrdinalIgnoreCase))
        {
            Send($"{tag} BAD Unknown compression mechanism");
            return After.Next;
        }

        if (_input.TryRead(out var pending))
        {
            var buffered = !pending.Buffer.IsEmpty;
            _input.AdvanceTo(pending.Buffer.Start);
            if (buffered)
            {
                Send("* BYE Commands pipelined after COMPRESS cannot be read");
                return After.Stop;
            }
        }

        Ok(tag, "DEFLATE active");
        await FlushAsync(ct);
        var inflate = new DeflateStream(_readStream, CompressionMode.Decompress, leaveOpen: true);
        var deflate = new DeflateStream(_writeStream, CompressionLevel.Fastest, leaveOpen: true);
        _layers.Add(inflate);
        _layers.Add(deflate);
        UseStreams(inflate, deflate);
        _compressed = true;
        return After.Next;
    }
}
