using System.Buffers;
using System.Text;

namespace Sealpost.Imap;

// IDLE (RFC 2177, RFC 9051 §6.3.13): changes are pushed as they are committed, until the client sends DONE.
// The session waits on two things at once: its change subscription and the client's next line.
public sealed partial class ImapSession
{
    private async Task<After> IdleAsync(string tag, CancellationToken ct)
    {
        await ReportChangesAsync(allowExpunge: true, force: false, ct);
        DrainFeed();
        if (_accountChanged && !await StillStandsAsync(ct))
        {
            Send(ExpiredBye);
            return After.Stop;
        }

        Send("+ idling");
        await FlushAsync(ct);

        // The server's stop ends an IDLE at once: nothing is half-done while idling.
        using var idleTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct, _context.Shutdown.Token);
        idleTimeout.CancelAfter(TimeSpan.FromMinutes(_context.Imap.IdleTimeoutMinutes));
        var read = Input.ReadAsync(idleTimeout.Token).AsTask();
        while (true)
        {
            var changed = FeedWaitAsync(ct);
            var first = await Task.WhenAny(read, changed);
            if (first == changed)
            {
                if (!await changed)
                {
                    break;
                }

                if (_notify is not null)
                {
                    await DeliverNotificationsAsync(ct);
                }
                else
                {
                    await ReportChangesAsync(allowExpunge: true, force: false, ct);
                }

                // A suspension, reset, password change or revoked app password, on any node: the change
                // feed wakes the idle session, which ends at once if it no longer stands (RFC 5530 EXPIRED).
                DrainFeed();
                if (_accountChanged && !await StillStandsAsync(ct))
                {
                    Send(ExpiredBye);
                    await FlushAsync(ct);
                    return After.Stop;
                }

                await FlushAsync(ct);
                continue;
            }

            var result = await read;
            var buffer = result.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is { } end)
            {
                var line = Encoding.ASCII.GetString(buffer.Slice(0, end)).TrimEnd('\r');
                Input.AdvanceTo(buffer.GetPosition(1, end));
                if (!line.Equals("DONE", StringComparison.OrdinalIgnoreCase))
                {
                    Send($"{tag} BAD Expected DONE");
                    return After.Next;
                }

                break;
            }

            if (result.IsCompleted || buffer.Length > 1024)
            {
                Input.AdvanceTo(buffer.End);
                return After.Stop;
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
            read = Input.ReadAsync(idleTimeout.Token).AsTask();
        }

        Ok(tag, "IDLE terminated");
        return After.Next;
    }
}
