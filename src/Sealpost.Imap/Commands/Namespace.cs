using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// NAMESPACE (RFC 2342, RFC 9051 §6.3.10): the personal namespace, and "Other Users/" where access
// grants show other people's mailboxes (read-only); "/" as separator.
public sealed partial class ImapSession
{
    private Task<After> NamespaceAsync(string tag, CancellationToken ct)
    {
        Send(new NamespaceResponse([new Namespace("", ListResponse.Delimiter)], [new Namespace(OtherUsers + ListResponse.Delimiter, ListResponse.Delimiter)], []));
        Ok(tag, "NAMESPACE completed");
        return Task.FromResult(After.Next);
    }
}
