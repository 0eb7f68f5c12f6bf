namespace Sealpost.Smtp;

/// <summary>A reply: basic code (RFC 5321 §4.2), enhanced code (RFC 3463), text. Named below; handlers never spell codes.</summary>
public sealed record SmtpReply(int Code, string? Enhanced, string Text)
{
    /// <summary>Written as one or more lines; every line but the last uses "code-".</summary>
    public string Format(bool enhanced)
    {
        var lines = Text.Split('\n');
        var prefix = enhanced && Enhanced is not null ? Enhanced + " " : "";
        return string.Concat(lines.Select((line, i) => $"{Code}{(i == lines.Length - 1 ? ' ' : '-')}{prefix}{line}\r\n"));
    }

    public bool IsPositive => Code < 400;

    // 2xx
    public static SmtpReply Greeting(string hostname) => new(220, null, $"{hostname} ESMTP Sealpost");
    public static SmtpReply Helo(string hostname) => new(250, null, hostname);

    /// <summary>The EHLO answer: the greeting line, then one line per extension keyword (RFC 5321 §4.1.1.1).</summary>
    public static SmtpReply Ehlo(IEnumerable<string> lines) => new(250, null, string.Join('\n', lines));
    public static SmtpReply Ok(string text = "OK") => new(250, "2.0.0", text);
    public static SmtpReply SenderOk => new(250, "2.1.0", "Sender OK");
    public static SmtpReply RecipientOk => new(250, "2.1.5", "Recipient OK");
    public static SmtpReply Queued(string id) => new(250, "2.0.0", $"OK: stored as {id}");
    public static SmtpReply Closing => new(221, "2.0.0", "Bye");
    public static SmtpReply Help => new(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH");
    public static SmtpReply CannotVerify => new(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery");
    public static SmtpReply AuthSucceeded => new(235, "2.7.0", "Authentication successful");
    public static SmtpReply ReadyForTls => new(220, "2.0.0", "Ready to start TLS");

    // 3xx
    public static SmtpReply StartData => new(354, null, "End data with <CR><LF>.<CR><LF>");

    /// <summary>RFC 4954 §4: a SASL challenge, base64, without an enhanced code.</summary>
    public static SmtpReply SaslChallenge(string base64) => new(334, null, base64);

    // 4xx
    public static SmtpReply ServiceClosing(string why) => new(421, "4.7.0", why);

    /// <summary>RFC 3463 4.3.2: the system is not accepting messages (it is stopping); try again, elsewhere.</summary>
    public static SmtpReply ShuttingDown => new(421, "4.3.2", "Service shutting down; try again shortly");
    public static SmtpReply LocalError => new(451, "4.3.0", "Temporary failure storing the message; try again later");

    /// <summary>Any command whose work failed for a reason on our side (a store, the audit trail): the session goes on (RFC 5321 §4.2.1).</summary>
    public static SmtpReply CommandFailed => new(451, "4.3.0", "Temporary local problem; try the command again later");
    public static SmtpReply MailboxFull => new(452, "4.2.2", "Mailbox full");
    public static SmtpReply TooManyRecipients => new(452, "4.5.3", "Too many recipients");
    public static SmtpReply TemporaryAuthFailure => new(454, "4.7.0", "Temporary authentication failure; try again later");

    // 5xx
    public static SmtpReply UnknownCommand => new(500, "5.5.2", "Command not recognised");
    public static SmtpReply LineTooLong => new(500, "5.5.6", "Line too long");
    public static SmtpReply SyntaxError(string what) => new(501, "5.5.4", what);
    public static SmtpReply BadSequence(string what) => new(503, "5.5.1", what);

    /// <summary>RFC 4954 §4: a SASL response that cannot be decoded.</summary>
    public static SmtpReply SaslMalformed(string what) => new(501, "5.5.2", what);

    /// <summary>RFC 4954 §4: the client cancelled the exchange with "*".</summary>
    public static SmtpReply SaslCancelled => new(501, "5.0.0", "Authentication cancelled");
    /// <summary>RFC 4954 §4: a mechanism this server does not offer.</summary>
    public static SmtpReply UnknownMechanism => new(504, "5.5.4", "Unrecognised authentication mechanism");

    /// <summary>RFC 8689 §4.1: REQUIRETLS on a session without TLS.</summary>
    public static SmtpReply RequireTlsWithoutTls => new(530, "5.7.10", "REQUIRETLS needs TLS");

    /// <summary>RFC 7489 §6.6.2: the sender's domain asks for a refusal and Smtp:AuthenticationPolicy applies it.</summary>
    public static SmtpReply DmarcRejected => new(550, "5.7.1", "Message refused: DMARC policy of the sender's domain");
    public static SmtpReply NotImplemented => new(502, "5.5.1", "Command not implemented");
    public static SmtpReply AuthRequired => new(530, "5.7.0", "Authentication required");
    public static SmtpReply EncryptionRequired => new(530, "5.7.11", "Must issue a STARTTLS command first");
    public static SmtpReply AuthFailed => new(535, "5.7.8", "Authentication credentials invalid");
    public static SmtpReply AuthNotAvailable => new(503, "5.5.1", "AUTH is not available here");
    public static SmtpReply UnknownUser => new(550, "5.1.1", "No such user here");
    public static SmtpReply BareLineFeed => new(550, "5.6.11", "Bare LF or CR in message data is not allowed; message refused");
    public static SmtpReply MessageTooBig => new(552, "5.3.4", "Message size exceeds the limit");
    public static SmtpReply InsufficientStorage => new(452, "4.3.1", "Insufficient system storage, try again later");
    public static SmtpReply SenderNotOwned(string address) => new(553, "5.7.1", $"Sender address <{address}> does not belong to the authenticated account");
    public static SmtpReply HeaderSenderNotOwned(string address) =>
        new(550, "5.7.1", $"Message refused: its From/Sender header names <{Printable(address)}>, which is not an address of the authenticated account");
    /// <summary>Text from the client fit for a reply line: printable ASCII only, at most 100 characters.</summary>
    private static string Printable(string text)
    {
        var kept = new string(text.Where(c => c is >= ' ' and <= '~' and not '<' and not '>').Take(100).ToArray());
        return kept.Length == 0 ? "?" : kept;
    }

    public static SmtpReply OwnDomainSpoofed(string domain) =>
        new(550, "5.7.1", $"Message refused: it claims to be from our domain {Printable(domain)} but comes from outside without a DKIM signature of that domain; our users send through submission");

    public static SmtpReply NotPermitted => new(550, "5.7.1", "Not permitted");
    public static SmtpReply RelayDenied => new(554, "5.7.1", "Relay access denied");
    public static SmtpReply NoValidRecipients => new(554, "5.5.1", "No valid recipients");
    public static SmtpReply CommandAfterStartTls => new(554, "5.5.1", "Commands pipelined after STARTTLS are not accepted");
    public static SmtpReply InvalidAddress(string what) => new(553, "5.1.3", what);
    public static SmtpReply Utf8NotRequested => new(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
}
