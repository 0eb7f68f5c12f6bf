using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// CAPABILITY (RFC 9051 §6.1.1). What is advertised depends on TLS and login state.
public sealed partial class ImapSession
{
    private string Capabilities()
    {
        var caps = new List<string> { "IMAP4rev1", "IMAP4rev2" };
        if (!Authenticated)
        {
            if (!_tls)
            {
                caps.Add("STARTTLS");
            }

            if (LoginAllowed)
            {
                caps.AddRange(Sealpost.Domain.Sasl.SaslExchange.Mechanisms.Select(m => "AUTH=" + m));
                caps.Add("SASL-IR");
            }
            else
            {
                caps.Add("LOGINDISABLED");
            }
        }

        caps.AddRange(["LITERAL+", "ENABLE", "ID", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN",
            "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE", "ESEARCH", "SEARCHRES", "BINARY", "MULTIAPPEND",
            $"APPENDLIMIT={_context.Imap.AppendLimitBytes}", "UTF8=ACCEPT", "QUOTA", "QUOTA=RES-STORAGE", "STATUS=SIZE", "CONDSTORE", "QRESYNC",
            "SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "OBJECTID", "PREVIEW", "WITHIN", "NOTIFY"]);
        if (!_compressed)
        {
            caps.Add("COMPRESS=DEFLATE");
        }

        return string.Join(' ', caps);
    }

    private Task<After> CapabilityAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.End();
        Send("* CAPABILITY " + Capabilities());
        Ok(tag, "CAPABILITY completed");
        return Task.FromResult(After.Next);
    }
}
