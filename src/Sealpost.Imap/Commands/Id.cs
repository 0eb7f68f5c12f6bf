using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// ID (RFC 2971): the client's fields are read and ignored; ours name the product, not the host or build.
public sealed partial class ImapSession
{
    private Task<After> IdAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        if (!p.TryKeyword("NIL"))
        {
            p.Expect('(');
            var fields = 0;
            while (!p.TryTake(')'))
            {
                if (fields > 0)
                {
                    p.Space();
                }

                var key = p.ReadString();
                p.Space();
                _ = p.ReadNString();
                // RFC 2971 §3.3: at most 30 pairs, keys at most 30 octets.
                if (++fields > 30 || key.Length > 30)
                {
                    throw new ImapParseException("Too many or too long ID fields");
                }
            }
        }

        p.End();
        Send("* ID (\"name\" \"Sealpost\" \"vendor\" \"Sealpost\")");
        Ok(tag, "ID completed");
        return Task.FromResult(After.Next);
    }
}
