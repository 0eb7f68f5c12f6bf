namespace Sealpost.Smtp;

/// <summary>HELP (RFC 5321 §4.1.1.8).</summary>
public sealed partial class SmtpSession
{
    private Outcome Help()
    {
        Send(SmtpReply.Help);
        return Outcome.Next;
    }
}
