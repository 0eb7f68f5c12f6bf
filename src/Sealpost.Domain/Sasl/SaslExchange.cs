using System.Text;

namespace Sealpost.Domain.Sasl;

/// <summary>What the server does next in a SASL exchange.</summary>
public abstract record SaslStep
{
    /// <summary>Send this challenge (already base64) and pass the client's answer line to <see cref="SaslExchange.Continue"/>.</summary>
    public sealed record Challenge(string Base64) : SaslStep;

    /// <summary>The exchange produced a user name and password to check.</summary>
    public sealed record Credentials(string User, string Password) : SaslStep;

    /// <summary>The client sent something that is not a valid response: the exchange is over.</summary>
    public sealed record Malformed(string Reason) : SaslStep;

    /// <summary>The client answered "*" (RFC 4954 §4, RFC 9051 §6.2.2): the exchange is over.</summary>
    public sealed record Cancelled : SaslStep;
}

/// <summary>
/// The server side of a SASL exchange, written once for every protocol (SMTP AUTH, IMAP AUTHENTICATE,
/// later the web and LDAP logins): PLAIN (RFC 4616) and LOGIN. It only turns client lines into the next
/// step; the protocol sends the challenges in its own framing (334 or "+") and checks the credentials
/// through the authentication service. Every response is a line of base64; "=" is an empty initial
/// response (RFC 4954 §4, RFC 4959 §3) and "*" cancels.
/// </summary>
public sealed class SaslExchange
{
    /// <summary>Mechanisms in the order a server advertises them.</summary>
    public static readonly IReadOnlyList<string> Mechanisms = ["PLAIN", "LOGIN"];

    private static readonly string UserPrompt = Convert.ToBase64String("Username:"u8);
    private static readonly string PasswordPrompt = Convert.ToBase64String("Password:"u8);

    private string? _user;
    private bool _done;

    private SaslExchange(string mechanism) => Mechanism = mechanism;

    public string Mechanism { get; }

    /// <summary>An exchange for a mechanism name (any case), or null when it is not one this server offers.</summary>
    public static SaslExchange? Start(string mechanism)
    {
        var name = mechanism.ToUpperInvariant();
        return Mechanisms.Contains(name) ? new SaslExchange(name) : null;
    }

    /// <summary>The first step: <paramref name="initialResponse"/> is what followed the mechanism on the command line, or null.</summary>
    public SaslStep Begin(string? initialResponse)
    {
        if (initialResponse is null)
        {
            return new SaslStep.Challenge(Mechanism == "PLAIN" ? "" : UserPrompt);
        }

        return initialResponse == "*" ? End(new SaslStep.Cancelled()) : Continue(initialResponse);
    }

    /// <summary>The next step, given the client's answer to the last challenge.</summary>
    public SaslStep Continue(string line)
    {
        if (_done)
        {
            throw new InvalidOperationException("the SASL exchange is over");
        }

        line = line.Trim();
        if (line == "*")
        {
            return End(new SaslStep.Cancelled());
        }

        var text = Decode(line);
        if (text is null)
        {
            return End(new SaslStep.Malformed("Response is not valid base64"));
        }

        if (Mechanism == "PLAIN")
        {
            // [authzid] NUL authcid NUL passwd; acting for another identity is not offered.
            var parts = text.Split('\0');
            if (parts.Length != 3 || parts[1].Length == 0 || (parts[0].Length > 0 && parts[0] != parts[1]))
            {
                return End(new SaslStep.Malformed("Malformed PLAIN response"));
            }

            return End(new SaslStep.Credentials(parts[1], parts[2]));
        }

        if (_user is null)
        {
            _user = text;
            return new SaslStep.Challenge(PasswordPrompt);
        }

        return End(new SaslStep.Credentials(_user, text));
    }

    private SaslStep End(SaslStep step)
    {
        _done = true;
        return step;
    }

    private static string? Decode(string line)
    {
        if (line is "" or "=")
        {
            return "";
        }

        try
        {
            return new UTF8Encoding(false, true).GetString(Convert.FromBase64String(line));
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException)
        {
            return null;
        }
    }
}
