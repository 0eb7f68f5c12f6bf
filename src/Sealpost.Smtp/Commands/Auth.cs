using System.Text;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;
using Sealpost.Core.Logging;
using Sealpost.Core.Security;
using Sealpost.Domain;
using Sealpost.Domain.Sasl;

namespace Sealpost.Smtp;

/// <summary>AUTH (RFC 4954) through the shared SASL exchange (PLAIN, LOGIN).</summary>
public sealed partial class SmtpSession
{
    private Outcome Auth(string argument)
    {
        if (!AuthAllowed)
        {
            Error(IsSubmission ? SmtpReply.EncryptionRequired : SmtpReply.AuthNotAvailable);
            return Outcome.Next;
        }

        if (_helo is null || !_esmtp)
        {
            Error(SmtpReply.BadSequence("Send EHLO first"));
            return Outcome.Next;
        }

        if (_account is not null || _mail is not null)
        {
            Error(SmtpReply.BadSequence(_account is not null ? "Already authenticated" : "AUTH not allowed during a transaction"));
            return Outcome.Next;
        }

        var parts = argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        var mechanism = parts.Length > 0 ? parts[0].ToUpperInvariant() : "";
        var initial = parts.Length > 1 ? parts[1] : null;
        var sasl = SaslExchange.Start(mechanism);
        if (sasl is null)
        {
            Error(SmtpReply.UnknownMechanism);
            return Outcome.Next;
        }

        return Outcome.Then(async ct =>
        {
            var step = sasl.Begin(initial);
            while (step is SaslStep.Challenge challenge)
            {
                var line = await ChallengeAsync(challenge.Base64, ct);
                if (line is null)
                {
                    return true; // the answer was refused (too long): the exchange is over, not one step further on
                }

                step = sasl.Continue(line);
            }

            string user, password;
            switch (step)
            {
                case SaslStep.Credentials credentials:
                    (user, password) = (credentials.User, credentials.Password);
                    break;
                case SaslStep.Malformed malformed:
                    Error(SmtpReply.SaslMalformed(malformed.Reason));
                    return true;
                default:
                    Error(SmtpReply.SaslCancelled);
                    return true;
            }

            LoginResult login;
            try
            {
                login = await _context.Authentication.LoginAsync(Actor.Anonymous(IsSubmission ? "submission" : "smtp", ClientAddress, correlationId: _correlationId), user, password, mechanism, ct);
            }
            catch (Exception ex) when (IsCommandFault(ex))
            {
                SmtpLog.CommandFailed(_context.Logger, "AUTH", ClientAddress, FailureCause.Describe(ex));
                Sealpost.Core.Observability.SealpostMetrics.RecordStoreError(MetricProtocol, FailureCause.Describe(ex));
                Send(SmtpReply.TemporaryAuthFailure); // RFC 4954 §6: 454 4.7.0, the session goes on
                return true;
            }

            SmtpLog.LoginAttempt(_context.Logger, _context.Redactor.Address(user), login.Outcome == LoginOutcome.Succeeded, ClientAddress);
            switch (login.Outcome)
            {
                case LoginOutcome.Throttled:
                    SmtpLog.LoginThrottled(_context.Logger, _context.Redactor.Address(user), ClientAddress, login.Lockout!);
                    Send(SmtpReply.TemporaryAuthFailure);
                    return true;
                case LoginOutcome.Unavailable:
                    Send(SmtpReply.TemporaryAuthFailure);
                    return true;
                case LoginOutcome.Failed:
                    if (++_authFailures >= Limits.MaxAuthFailures)
                    {
                        Send(SmtpReply.ServiceClosing("Too many authentication failures"));
                        return false;
                    }

                    await Task.Delay(AuthenticationService.FailureDelay(_authFailures), ct); // slow down guessing
                    Error(SmtpReply.AuthFailed);
                    return true;
            }

            login.Session!.Dispose(); // submission needs the account, not its keys
            _account = login.Account;
            _watch?.Dispose();
            _watch = _context.Authentication.WatchAccount(login.Account!);
            _watchWait = null; // a wait on the old subscription would end the next read's watch early
            _actor = login.Actor;
            Send(SmtpReply.AuthSucceeded);
            return true;
        });
    }

    /// <summary>
    /// Sends a 334 challenge and reads one response line. A line over the limit is answered 500 5.5.6 and
    /// ends the exchange (null): the client's next line is a command again, never taken as the next answer.
    /// </summary>
    private async Task<string?> ChallengeAsync(string challenge, CancellationToken ct)
    {
        Send(SmtpReply.SaslChallenge(challenge));
        await FlushAsync(ct);
        var discarding = false;
        while (true)
        {
            var result = await ReadAsync(Smtp.CommandTimeoutSeconds, ct);
            var buffer = result.Buffer;
            if (SmtpGrammar.TryTakeLine(ref buffer, Limits.MaxCommandLineBytes, ref discarding, out var line, out var tooLong))
            {
                _lineDeadline = null;
                var text = tooLong ? null : Encoding.ASCII.GetString(line); // before AdvanceTo: the line's memory belongs to the pipe
                Input.AdvanceTo(buffer.Start);
                if (text is null)
                {
                    Error(SmtpReply.LineTooLong);
                }

                return text;
            }

            if (!buffer.IsEmpty)
            {
                _lineDeadline ??= DateTimeOffset.UtcNow.AddSeconds(Smtp.CommandLineSeconds);
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new SessionClosed();
            }
        }
    }
}
