namespace Sealpost.Imap;

// LOGOUT (RFC 9051 §6.1.3): BYE, then the tagged OK, then the connection closes.
public sealed partial class ImapSession
{
    private Task<After> LogoutAsync(string tag)
    {
        Send("* BYE Sealpost logging out");
        Ok(tag, "LOGOUT completed");
        return Task.FromResult(After.Stop);
    }
}
