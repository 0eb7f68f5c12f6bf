using System.Globalization;

namespace Sealpost.Imap.Protocol;

/// <summary>
/// A response code, the bracketed part of a status response (RFC 9051 §7.1): its atom and, for some, data.
/// Named here, one place, for RFC 9051, RFC 5530 and the extensions that add their own; handlers never
/// spell a code.
/// </summary>
public readonly record struct ResponseCode(string Atom, string? Data = null)
{
    // RFC 9051 §7.1
    public static readonly ResponseCode Alert = new("ALERT");
    public static readonly ResponseCode AlreadyExists = new("ALREADYEXISTS");
    public static readonly ResponseCode AuthenticationFailed = new("AUTHENTICATIONFAILED");
    public static readonly ResponseCode Cannot = new("CANNOT");
    public static readonly ResponseCode Closed = new("CLOSED");
    public static readonly ResponseCode ExpungeIssued = new("EXPUNGEISSUED");
    public static readonly ResponseCode Expired = new("EXPIRED");
    public static readonly ResponseCode HasChildren = new("HASCHILDREN");
    public static readonly ResponseCode Limit = new("LIMIT");
    public static readonly ResponseCode NonExistent = new("NONEXISTENT");
    public static readonly ResponseCode NoPerm = new("NOPERM");
    public static readonly ResponseCode OverQuota = new("OVERQUOTA");
    public static readonly ResponseCode PrivacyRequired = new("PRIVACYREQUIRED");
    public static readonly ResponseCode ReadOnly = new("READ-ONLY");
    public static readonly ResponseCode ReadWrite = new("READ-WRITE");
    public static readonly ResponseCode TooBig = new("TOOBIG");
    public static readonly ResponseCode Unavailable = new("UNAVAILABLE");
    public static readonly ResponseCode UnknownCte = new("UNKNOWN-CTE");

    // Extensions
    public static readonly ResponseCode UseAttr = new("USEATTR");                     // RFC 6154 §6
    public static readonly ResponseCode CompressionActive = new("COMPRESSIONACTIVE"); // RFC 4978 §3
    public static readonly ResponseCode TryCreate = new("TRYCREATE");                 // RFC 9051 §7.1

    public static ResponseCode BadEvent(string supported) => new("BADEVENT", "(" + supported + ")"); // RFC 5465 §5

    public static ResponseCode BadCharset(params string[] supported) => new("BADCHARSET", "(" + string.Join(' ', supported) + ")");
    public static ResponseCode Capability(string capabilities) => new("CAPABILITY", capabilities);
    public static ResponseCode AppendUid(uint validity, string uids) => new("APPENDUID", $"{validity.ToString(CultureInfo.InvariantCulture)} {uids}"); // RFC 4315 §3
    public static ResponseCode CopyUid(uint validity, string from, string to) => new("COPYUID", $"{validity.ToString(CultureInfo.InvariantCulture)} {from} {to}");
    public static ResponseCode Modified(string set) => new("MODIFIED", set);                  // RFC 7162 §3.1.3
    public static ResponseCode HighestModSeq(long modseq) => new("HIGHESTMODSEQ", modseq.ToString(CultureInfo.InvariantCulture));
    public static ResponseCode Unseen(uint sequence) => new("UNSEEN", sequence.ToString(CultureInfo.InvariantCulture)); // RFC 3501 §7.1
    public static ResponseCode UidValidity(uint validity) => new("UIDVALIDITY", validity.ToString(CultureInfo.InvariantCulture));
    public static ResponseCode UidNext(uint next) => new("UIDNEXT", next.ToString(CultureInfo.InvariantCulture));
    public static ResponseCode PermanentFlags(string flags) => new("PERMANENTFLAGS", "(" + flags + ")");
    public static ResponseCode MailboxId(string id) => new("MAILBOXID", "(" + id + ")");     // RFC 8474 §4.1

    public override string ToString() => Data is null ? Atom : Atom + " " + Data;

    /// <summary>"[CODE] " or "[CODE data] ": what goes between the status and the text.</summary>
    public static string Bracketed(ResponseCode? code) => code is { } c ? "[" + c + "] " : "";
}
