namespace Sealpost.Smtp;

/// <summary>QUIT (RFC 5321 §4.1.1.10).</summary>
public sealed partial class SmtpSession
{
    private Outcome Quit()
    {
        Send(SmtpReply.Closing);
        return Outcome.Close;
    }
}
