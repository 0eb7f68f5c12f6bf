using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// ENABLE (RFC 5161): IMAP4rev2 (RFC 9051 §6.3.1), UTF8=ACCEPT (RFC 6855), CONDSTORE and QRESYNC (RFC 7162). Unknown extensions are ignored.
public sealed partial class ImapSession
{
    private Task<After> EnableAsync(string tag, ImapParser p, CancellationToken ct)
    {
        var enabled = new List<string>();
        var any = false;
        while (p.TrySpace())
        {
            any = true;
            var name = p.ReadAtom().ToUpperInvariant();
            switch (name)
            {
                case "IMAP4REV2" when !_rev2:
                    _rev2 = true;
                    enabled.Add("IMAP4rev2");
                    break;
                case "CONDSTORE" when !_condStore:
                    EnableCondStore();
                    enabled.Add("CONDSTORE");
                    break;
                case "QRESYNC" when !_qresync:
                    // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                    _qresync = true;
                    EnableCondStore();
                    enabled.Add("QRESYNC");
                    break;
                case "UTF8=ACCEPT" when !_utf8:
                    if (_selected is not null)
                    {
                        // RFC 6855 §3: not once a mailbox is selected.
                        throw new ImapParseException("UTF8=ACCEPT must be enabled before SELECT");
                    }

                    _utf8 = true;
                    enabled.Add("UTF8=ACCEPT");
                    break;
            }
        }

        if (!any)
        {
            throw new ImapParseException("ENABLE needs at least one capability");
        }

        p.End();
        Send("* ENABLED" + string.Concat(enabled.Select(e => " " + e)));
        Ok(tag, "ENABLE completed");
        return Task.FromResult(After.Next);
    }
}
