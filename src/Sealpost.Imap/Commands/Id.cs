using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// ID (RFC 2971): the client's fields are read and ignored; ours name the product, not the host or build.
public sealed partial class ImapSession
{
    private Task<After> IdAsync(string tag, CancellationToken ct)
    {
        Send(new IdResponse([("name", "Sealpost"), ("vendor", "Sealpost")]));
        Ok(tag, "ID completed");
        return Task.FromResult(After.Next);
    }
}
