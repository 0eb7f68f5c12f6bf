using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// ENABLE (RFC 5161): IMAP4rev2 (RFC 9051 §6.3.1), UTF8=ACCEPT (RFC 6855), CONDSTORE and QRESYNC (RFC 7162). Unknown extensions are ignored.
public sealed partial class ImapSession
{
    private Task<After> EnableAsync(string tag, EnableArguments arguments, CancellationToken ct)
    {
        if (arguments.Names.Contains("UTF8=ACCEPT") && !_utf8 && _selected is not null)
        {
            // RFC 6855 §3: not once a mailbox is selected; refused before anything else is enabled.
            throw new ImapParseException("UTF8=ACCEPT must be enabled before SELECT");
        }

        var enabled = new List<string>();
        foreach (var name in arguments.Names)
        {
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
                    _utf8 = true;
                    enabled.Add("UTF8=ACCEPT");
                    break;
            }
        }

        Send(new EnabledResponse(enabled));
        Ok(tag, "ENABLE completed");
        return Task.FromResult(After.Next);
    }
}
