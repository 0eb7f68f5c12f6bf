using Sealpost.Core.Configuration;

namespace Sealpost.Smtp;

/// <summary>Smtp:BareLineEnds: what a bare LF or CR in message data leads to (SMTP smuggling).</summary>
public enum BareLineEndAction { Reject, Normalize }

/// <summary>Smtp:AuthenticationPolicy: what a DMARC failure on port 25 leads to.</summary>
public enum DmarcFailureAction { Record, Quarantine, Reject }

/// <summary>Smtp:OwnDomainSenders: port 25 mail claiming one of our own domains.</summary>
public enum OwnDomainSenderAction { Refuse, Accept }

/// <summary>
/// The string-valued SMTP options as the session reads them: configuration keeps the words operators
/// write (checked at start by the options validator, which names the allowed ones); code compares enums.
/// </summary>
public static class SmtpPolicies
{
    public static BareLineEndAction BareLineEndAction(this SmtpOptions smtp) =>
        Parse<BareLineEndAction>(smtp.BareLineEnds);

    public static DmarcFailureAction DmarcFailureAction(this SmtpOptions smtp) =>
        Parse<DmarcFailureAction>(smtp.AuthenticationPolicy);

    public static OwnDomainSenderAction OwnDomainSenderAction(this SmtpOptions smtp) =>
        Parse<OwnDomainSenderAction>(smtp.OwnDomainSenders);

    /// <summary>A value the validator let through always parses; anything else (a test's options object) is the first, safest member.</summary>
    private static T Parse<T>(string value) where T : struct, Enum =>
        Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed : default;
}
