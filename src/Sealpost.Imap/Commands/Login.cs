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
    private async Task<After> LoginAsync(string tag, LoginArguments arguments, CancellationToken ct)
    {
        var (user, password) = arguments;
        if (!LoginAllowed)
        {
            // RFC 9051 §6.2.3: LOGINDISABLED is advertised; the client should not have tried.
            Tagged(tag, "NO", ResponseCode.PrivacyRequired, "Use STARTTLS or the TLS port first");
            return After.Next;
        }

        return await CompleteLoginAsync(tag, user, password, "LOGIN", ct);
    }

    private async Task<After> AuthenticateAsync(string tag, AuthenticateArguments arguments, CancellationToken ct)
    {
        var (mechanism, initial) = arguments;
        if (!LoginAllowed)
        {
            Tagged(tag, "NO", ResponseCode.PrivacyRequired, "Use STARTTLS or the TLS port first");
            return After.Next;
        }

        var sasl = Sealpost.Domain.Sasl.SaslExchange.Start(mechanism);
        if (sasl is null)
        {
            Tagged(tag, "NO", ResponseCode.Cannot, "Unsupported authentication mechanism");
            return After.Next;
        }

        var step = sasl.Begin(initial);
        while (step is Sealpost.Domain.Sasl.SaslStep.Challenge challenge)
        {
            Send("+ " + challenge.Base64);
            await FlushAsync(ct);
            step = sasl.Continue(await ReadLineAsync(ct));
        }

        string user, password;
        switch (step)
        {
            case Sealpost.Domain.Sasl.SaslStep.Credentials credentials:
                (user, password) = (credentials.User, credentials.Password);
                break;
            case Sealpost.Domain.Sasl.SaslStep.Malformed malformed:
                Send($"{tag} BAD {malformed.Reason}");
                return After.Next;
            default:
                Send($"{tag} BAD Authentication cancelled");
                return After.Next;
        }

        return await CompleteLoginAsync(tag, user, password, "AUTHENTICATE " + mechanism, ct);
    }

    private async Task<After> CompleteLoginAsync(string tag, string user, string password, string mechanism, CancellationToken ct)
    {
        using var turn = await _context.Admission.AdmitAsync(ct);
        var login = await _context.Authentication.LoginAsync(Actor.Anonymous("imap", ClientAddress, correlationId: _correlationId), user, password, mechanism, ct);
        ImapLog.LoginAttempt(_context.Logger, _context.Redactor.Address(user), login.Outcome == LoginOutcome.Succeeded, ClientAddress);
        switch (login.Outcome)
        {
            case LoginOutcome.Throttled:
                ImapLog.LoginThrottled(_context.Logger, _context.Redactor.Address(user), ClientAddress, login.Lockout!);
                Tagged(tag, "NO", ResponseCode.Unavailable, "Too many failed logins; try again later");
                return After.Next;
            case LoginOutcome.Unavailable:
                Tagged(tag, "NO", ResponseCode.Unavailable, "Logins are suspended for a moment; try again later");
                return After.Next;
            case LoginOutcome.Failed:
                if (++_authFailures >= _context.Options.Limits.MaxAuthFailures)
                {
                    Tagged(tag, "NO", ResponseCode.AuthenticationFailed, "Authentication failed");
                    Send("* BYE Too many authentication failures");
                    return After.Stop;
                }

                await Task.Delay(AuthenticationService.FailureDelay(_authFailures), ct); // slow down guessing
                Tagged(tag, "NO", ResponseCode.AuthenticationFailed, "Authentication failed");
                return After.Next;
        }

        var (account, keys) = (login.Account!, login.Session!);
        _actor = login.Actor;
        if (!_context.TryEnterAccount(account.Id))
        {
            keys.Dispose();
            Tagged(tag, "NO", ResponseCode.Limit, "Too many sessions for this account");
            return After.Next;
        }

        _account = account;
        _keys = keys;
        _mail = await _context.MailService.OpenAsync(_actor!, keys, ct);
        _changes = _mail.SubscribeChanges();
        _keywords = new KeywordNames(_mail, keys);
        await _keywords.LoadAsync(ct);
        await OpenGrantsAsync(ct);
        if (login.Notice is { } notice)
        {
            Untagged("OK", ResponseCode.Alert, OneLine(notice)); // RFC 9051 §7.1: the client must show ALERT text to its user
        }

        Ok(tag, "Logged in", ResponseCode.Capability(Capabilities()));
        return After.Next;
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
                Input.AdvanceTo(buffer.GetPosition(1, end));
                return line;
            }

            if (buffer.Length > _context.Imap.MaxLineBytes || result.IsCompleted)
            {
                Send("* BYE Line too long or connection closed");
                throw new SessionEnded();
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
