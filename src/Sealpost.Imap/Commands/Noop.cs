namespace Sealpost.Imap;

// NOOP and CHECK (RFC 9051 §6.1.2; CHECK is RFC 3501 §6.4.1, a NOOP here since every change is durable at once).
public sealed partial class ImapSession
{
    private async Task<After> NoopAsync(string tag, CancellationToken ct)
    {
        await ReportChangesAsync(allowExpunge: true, force: true, ct);
        Ok(tag, "NOOP completed");
        return After.Next;
    }
}
