using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// NAMESPACE (RFC 2342, RFC 9051 §6.3.10): one personal namespace, "/" as separator; shared folders come with ACLs later.
public sealed partial class ImapSession
{
    private Task<After> NamespaceAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.End();
        Send("* NAMESPACE ((\"\" \"/\")) NIL NIL");
        Ok(tag, "NAMESPACE completed");
        return Task.FromResult(After.Next);
    }
}
