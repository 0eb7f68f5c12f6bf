namespace Sealpost.Smtp;

/// <summary>RSET (RFC 5321 §4.1.1.5).</summary>
public sealed partial class SmtpSession
{
    private Outcome Rset()
    {
        ResetTransaction();
        Send(SmtpReply.Ok());
        return Outcome.Next;
    }
}
