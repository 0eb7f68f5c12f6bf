namespace Sealpost.Smtp;

/// <summary>VRFY and EXPN (RFC 5321 §3.5): answered 252 for everyone, so they say nothing about who exists (§3.5.3).</summary>
public sealed partial class SmtpSession
{
    private Outcome Vrfy()
    {
        Send(SmtpReply.CannotVerify);
        return Outcome.Next;
    }
}
