using System.IO.Compression;
using System.IO.Pipelines;
using Sealpost.Core.Connections;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// COMPRESS=DEFLATE (RFC 4978): raw DEFLATE both ways from the octet after the tagged OK; each flush is
// a sync flush, so a response is never held back in the compressor.
public sealed partial class ImapSession
{
    private async Task<After> CompressAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        var mechanism = p.ReadAtom();
        p.End();
        if (_compressed)
        {
            Send($"{tag} NO [COMPRESSIONACTIVE] Compression is already active");
            return After.Next;
        }

        if (!mechanism.Equals("DEFLATE", StringComparison.OrdinalIgnoreCase))
        {
            Send($"{tag} BAD Unknown compression mechanism");
            return After.Next;
        }

        Ok(tag, "DEFLATE active");
        await FlushAsync(ct);
        var raw = new DuplexPipeStream(_input, _output);
        var inflate = new DeflateStream(raw, CompressionMode.Decompress, leaveOpen: true);
        var deflate = new DeflateStream(raw, CompressionLevel.Fastest, leaveOpen: true);
        _input = PipeReader.Create(inflate, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024));
        _output = PipeWriter.Create(deflate);
        _compressed = true;
        return After.Next;
    }
}
