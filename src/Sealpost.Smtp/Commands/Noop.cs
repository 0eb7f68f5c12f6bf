namespace Sealpost.Smtp;

/// <summary>NOOP (RFC 5321 §4.1.1.9): its argument is ignored.</summary>
public sealed partial class SmtpSession
{
    private Outcome Noop()
    {
        Send(SmtpReply.Ok());
        return Outcome.Next;
    }
}
