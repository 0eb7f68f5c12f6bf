using System.Buffers;
using System.Text;
using Sealpost.Core.Access;
using Sealpost.Core.Security;
using Sealpost.Domain;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE PLAIN/LOGIN with SASL-IR (RFC 9051 §6.2.2, RFC 4959).
// Both go through the shared login throttle; a refused login costs the client time, not us Argon2id work.
public sealed partial class ImapSession
{
    private async Task<After> LoginAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        var user = p.ReadAString();
        p.Space();
        var password = p.ReadAString();
        p.End();
        if (!LoginAllowed)
        {
            // RFC 9051 §6.2.3: LOGINDISABLED is advertised; the client should not have tried.
            Send($"{tag} NO [PRIVACYREQUIRED] Use STARTTLS or the TLS port first");
            return After.Next;
        }

        return await CompleteLoginAsync(tag, user, password, "LOGIN", ct);
    }

    private async Task<After> AuthenticateAsync(string tag, ImapParser p, CancellationToken ct)
    {
        p.Space();
        var mechanism = p.ReadAtom().ToUpperInvariant();
        string? initial = null;
        if (p.TrySpace())
        {
            initial = p.ReadRestOfLine();
        }

        p.End();
        if (!LoginAllowed)
        {
            Send($"{tag} NO [PRIVACYREQUIRED] Use STARTTLS or the TLS port first");
            return After.Next;
        }

        if (mechanism is not ("PLAIN" or "LOGIN"))
        {
            Send($"{tag} NO [CANNOT] Unsupported authentication mechanism");
            return After.Next;
        }

        string? user;
        string? password;
        if (mechanism == "PLAIN")
        {
            // RFC 4959: "=" is an empty initial response.
            var response = initial is null ? await ChallengeAsync("", ct) : initial == "=" ? "" : initial;
            if (response is null)
            {
                Send($"{tag} BAD Authentication cancelled");
                return After.Next;
            }

            // RFC 4616: [authzid] NUL authcid NUL passwd
            var decoded = Base64(response)?.Split('\0');
            if (decoded is not { Length: 3 } || (decoded[0].Length > 0 && decoded[0] != decoded[1]))
            {
                Send($"{tag} BAD Malformed PLAIN response");
                return After.Next;
            }

            (user, password) = (decoded[1], decoded[2]);
        }
        else
        {
            var first = initial is not null ? initial : await ChallengeAsync("VXNlcm5hbWU6", ct);
            user = first is null ? null : Base64(first);
            var second = user is null ? null : await ChallengeAsync("UGFzc3dvcmQ6", ct);
            password = second is null ? null : Base64(second);
            if (user is null || password is null)
            {
                Send($"{tag} BAD Malformed or cancelled LOGIN exchange");
                return After.Next;
            }
        }

        return await CompleteLoginAsync(tag, user, password, "AUTHENTICATE " + mechanism, ct);
    }

    private async Task<After> CompleteLoginAsync(string tag, string user, string password, string mechanism, CancellationToken ct)
    {
        var login = await _context.Authentication.LoginAsync(Actor.Anonymous("imap", ClientAddress, correlationId: _correlationId), user, password, mechanism, ct);
        ImapLog.LoginAttempt(_context.Logger, _context.Redactor.Address(user), login.Outcome == LoginOutcome.Succeeded, ClientAddress);
        switch (login.Outcome)
        {
            case LoginOutcome.Throttled:
                ImapLog.LoginThrottled(_context.Logger, _context.Redactor.Address(user), ClientAddress, login.Lockout!);
                Send($"{tag} NO [UNAVAILABLE] Too many failed logins; try again later");
                return After.Next;
            case LoginOutcome.Unavailable:
                Send($"{tag} NO [UNAVAILABLE] Logins are suspended for a moment; try again later");
                return After.Next;
            case LoginOutcome.Failed:
                if (++_authFailures >= _context.Options.Limits.MaxAuthFailures)
                {
                    Send($"{tag} NO [AUTHENTICATIONFAILED] Authentication failed");
                    Send("* BYE Too many authentication failures");
                    return After.Stop;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250 * _authFailures), ct); // slow down guessing
                Send($"{tag} NO [AUTHENTICATIONFAILED] Authentication failed");
                return After.Next;
        }

        var (account, keys) = (login.Account!, login.Session!);
        _actor = login.Actor;
        if (!_context.TryEnterAccount(account.Id))
        {
            keys.Dispose();
            Send($"{tag} NO [LIMIT] Too many sessions for this account");
            return After.Next;
        }

        _account = account;
        _keys = keys;
        _mail = await _context.MailService.OpenAsync(_actor!, keys, ct);
        _changes = _mail.SubscribeChanges();
        _keywords = new KeywordNames(_mail, keys);
        await _keywords.LoadAsync(ct);
        Ok(tag, "Logged in", "CAPABILITY " + Capabilities());
        return After.Next;
    }

    private static string? Base64(string text)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(text.Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Sends a continuation request and reads one response line; null if the client cancelled with "*".</summary>
    private async Task<string?> ChallengeAsync(string challenge, CancellationToken ct)
    {
        Send("+ " + challenge);
        await FlushAsync(ct);
        var line = await ReadLineAsync(ct);
        return line == "*" ? null : line;
    }

    /// <summary>One line outside the command grammar (SASL responses, IDLE's DONE).</summary>
    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await ReadAsync(ct);
            var buffer = result.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is { } end)
            {
                var line = Encoding.UTF8.GetString(buffer.Slice(0, end)).TrimEnd('\r');
                _input.AdvanceTo(buffer.GetPosition(1, end));
                return line;
            }

            if (buffer.Length > _context.Imap.MaxLineBytes || result.IsCompleted)
            {
                Send("* BYE Line too long or connection closed");
                throw new SessionEnded();
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
