using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// CAPABILITY (RFC 9051 §6.1.1). What is advertised depends on TLS and login state: see the command table (ImapCommands.cs).
public sealed partial class ImapSession
{
    private Task<After> CapabilityAsync(string tag, CancellationToken ct)
    {
        Send(new CapabilityResponse(Capabilities()));
        Ok(tag, "CAPABILITY completed");
        return Task.FromResult(After.Next);
    }
}
