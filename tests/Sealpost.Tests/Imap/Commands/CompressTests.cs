using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>COMPRESS=DEFLATE (RFC 4978).</summary>
public sealed class CompressTests : ImapTestBase
{
    [Fact]
    public async Task Compress_deflate_carries_the_session()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK DEFLATE active\r\n", await raw.CommandAsync("a COMPRESS DEFLATE"));
        // The rest of this session is compressed: speak DEFLATE by hand.
        var field = typeof(ImapRaw).GetField("_stream", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var inner = (Stream)field.GetValue(raw)!;
        var deflate = new System.IO.Compression.DeflateStream(inner, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true);
        var inflate = new System.IO.Compression.DeflateStream(inner, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true);
        await deflate.WriteAsync("b SELECT INBOX\r\n"u8.ToArray());
        await deflate.FlushAsync();
        var text = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!text.ToString().Contains("b OK"))
        {
            var n = await inflate.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0);
            text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }

        Assert.Contains("* 0 EXISTS", text.ToString());
        Assert.Contains("b OK [READ-WRITE] SELECT completed", text.ToString());
    }
}
