using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Text;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Storage;
using Sealpost.Core.Addressing;
using Sealpost.Core.Configuration;
using Sealpost.Core.Directory;
using Sealpost.Core.Logging;
using Sealpost.Connections;
using Sealpost.Core.Access;
using Sealpost.Core.Security;
using Sealpost.Domain;
using Sealpost.Domain.Sasl;

namespace Sealpost.Smtp;

public enum SmtpListenerKind { Inbound, Submission, SubmissionImplicitTls }

/// <summary>What a session needs from the host.</summary>
public sealed record SmtpContext(
    SealpostOptions Options,
    DeliveryService Agent,
    Func<string?, SslServerAuthenticationOptions> TlsOptions,
    LogRedactor Redactor,
    ILogger Logger,
    bool Development,
    AuthenticationService Authentication,
    ConnectionGate Connections,
    Authentication.SenderAuthenticator? SenderAuthentication,
    MessageMemoryBudget? MessageMemory = null,
    ShutdownSignal? Shutdown = null,
    MessageProcessingGate? MessageProcessing = null);

/// <summary>
/// One SMTP connection (RFC 5321). Invariants:
/// <list type="bullet">
/// <item>Replies to pipelined commands are written as each command is handled and flushed once the
/// input buffer holds no further complete command (RFC 2920 §3.1).</item>
/// <item>A transaction (MAIL..DATA/BDAT LAST) is answered 250 only after the sealed message is durable
/// for every accepted recipient; otherwise 451 and nothing is stored.</item>
/// <item><see cref="RunAsync"/> is the one place that turns exceptions into replies: a command error
/// replies and the session continues; a protocol error closes with 421.</item>
/// </list>
/// </summary>
public sealed partial class SmtpSession
{
    private readonly SmtpContext _context;
    private readonly SmtpListenerKind _kind;
    private readonly Connection _connection;
    private string? _helo;
    private bool _esmtp;
    private Account? _account;

    /// <summary>The authenticated account's own addresses (its address and aliases), fetched at MAIL.</summary>
    private IReadOnlySet<string>? _sendable;
    private Actor? _actor;
    private readonly string _correlationId = Actor.NewCorrelationId();

    /// <summary>Who delivers: the sending account after AUTH, otherwise the server on behalf of the peer.</summary>
    private Actor SessionActor => _actor ?? Actor.System(IsSubmission ? "submission" : "smtp", _correlationId) with { RemoteAddress = ClientAddress };
    private SmtpPath? _mail;
    private readonly List<(MailAddress Address, IReadOnlyList<Account> Accounts)> _recipients = [];
    private readonly List<(MailAddress Address, IReadOnlyDictionary<string, string?> Parameters)> _remoteRecipients = [];
    /// <summary>Outside addresses local aliases and groups forward to, with the address that led there.</summary>
    private readonly List<(MailAddress Via, MailAddress Target)> _forwards = [];
    private int RecipientCount => _recipients.Count + _remoteRecipients.Count;
    private MessageBuffer? _chunks;
    private int _errors;
    private int _authFailures;

    /// <summary>A session over a connection the listener has set up (PROXY header read, TLS on port 465, the connection gate passed).</summary>
    public SmtpSession(SmtpContext context, SmtpListenerKind kind, Connection connection)
    {
        _context = context;
        _kind = kind;
        _connection = connection;
    }

    /// <summary>The last line a connection refused by the gate hears (no enhanced code before EHLO).</summary>
    public static string Refusal(string reason) => SmtpReply.ServiceClosing(reason).Format(enhanced: false).TrimEnd();

    /// <summary>Logs a connection refused before its session began (gate or PROXY header).</summary>
    public static void Refused(SmtpContext context, string remote, string reason) =>
        SmtpLog.ConnectionRefused(context.Logger, remote, reason);

    private PipeReader Input => _connection.Input;

    private PipeWriter Output => _connection.Output;

    private IPEndPoint? Remote => _connection.Remote;

    private bool Tls => _connection.Tls;

    private SmtpOptions Smtp => _context.Options.Smtp;
    private LimitOptions Limits => _context.Options.Limits;

    /// <summary>Where a large message waits while it is received (Limits:MessageSpillBytes; 0: in memory).</summary>
    private SpillSettings? Spill => Limits.MessageSpillBytes > 0
        ? new SpillSettings(Path.Combine(_context.Options.DataDirectory, "incoming"), Limits.MessageSpillBytes)
        : null;
    private bool IsSubmission => _kind != SmtpListenerKind.Inbound;
    private bool AuthAllowed => IsSubmission && (Tls || (_connection.IsLoopback && Smtp.AllowPlaintextAuthOnLoopback && _context.Development));

    /// <summary>
    /// Serves the connection to its end. A connection's end is never an error for the host: a client that
    /// hangs up (the connection's token cancelled) or a transport that breaks ends the session quietly.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var counted = Sealpost.Core.Observability.SealpostMetrics.Session(_kind == SmtpListenerKind.Inbound ? "smtp" : "submission");
        try
        {
            await RunSessionAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException && ct.IsCancellationRequested)
        {
        }
    }

    private string ClientAddress => _connection.ClientAddress;

    private async Task RunSessionAsync(CancellationToken ct)
    {
        try
        {
            Send(SmtpReply.Greeting(_context.Options.Hostname));
            await FlushAsync(ct);
            var discarding = false;
            while (!ct.IsCancellationRequested)
            {
                var result = await ReadCommandAsync(ct);
                var buffer = result.Buffer;
                var handled = true;
                while (handled)
                {
                    handled = false;
                    if (!SmtpGrammar.TryTakeLine(ref buffer, Limits.MaxCommandLineBytes, ref discarding, out var line, out var tooLong))
                    {
                        if (!buffer.IsEmpty)
                        {
                            _lineDeadline ??= DateTimeOffset.UtcNow.AddSeconds(Smtp.CommandLineSeconds); // a line has begun
                        }

                        break;
                    }

                    handled = true;
                    _lineDeadline = null;
                    if (tooLong)
                    {
                        Error(SmtpReply.LineTooLong);
                        continue;
                    }

                    Outcome outcome;
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var bytes = line.ToArray();
                    var command = SmtpGrammar.Parse(bytes);
                    var verb = VerbNames[(int)command.Verb];
                    try
                    {
                        outcome = await HandleAsync(bytes, command, buffer, ct);
                    }
                    catch (Exception ex) when (IsCommandFault(ex))
                    {
                        // A command that has read no further input failed on our side: 451, and the session goes on.
                        var cause = FailureCause.Describe(ex);
                        SmtpLog.CommandFailed(_context.Logger, verb, ClientAddress, cause);
                        Sealpost.Core.Observability.SealpostMetrics.RecordStoreError(MetricProtocol, cause);
                        Sealpost.Core.Observability.SealpostMetrics.RecordCommand(MetricProtocol, verb, started);
                        Error(SmtpReply.CommandFailed);
                        continue;
                    }

                    if (outcome.Stop)
                    {
                        Input.AdvanceTo(buffer.End);
                        await FlushAsync(ct);
                        return;
                    }

                    if (!outcome.NeedsInput)
                    {
                        Sealpost.Core.Observability.SealpostMetrics.RecordCommand(MetricProtocol, verb, started);
                    }

                    if (outcome.NeedsInput)
                    {
                        // The command reads further input itself (DATA, BDAT, AUTH, STARTTLS): give it the rest of the buffer.
                        Input.AdvanceTo(buffer.Start);
                        await FlushAsync(ct);
                        var goOn = await outcome.Continue!(ct);
                        Sealpost.Core.Observability.SealpostMetrics.RecordCommand(MetricProtocol, verb, started);
                        await FlushAsync(ct); // the command's final reply must reach the client before we wait for it
                        if (!goOn)
                        {
                            return;
                        }

                        result = await ReadCommandAsync(ct, allowEmpty: true);
                        buffer = result.Buffer;
                    }
                }

                Input.AdvanceTo(buffer.Start, buffer.End);
                await FlushAsync(ct);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (SessionClosed)
        {
        }
        catch (SessionExpired)
        {
            await TryLastWordAsync(SmtpReply.ServiceClosing("This session's credentials changed or the account was suspended; authenticate again"));
        }
        catch (Draining)
        {
            await TryLastWordAsync(SmtpReply.ShuttingDown);
        }
        catch (TooManyErrors)
        {
            await TryLastWordAsync(null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await TryLastWordAsync(SmtpReply.ServiceClosing("Timeout; closing connection"));
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            // The peer went away or TLS failed: nothing to answer.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            SmtpLog.SessionFailed(_context.Logger, ex.GetType().Name);
            await TryLastWordAsync(SmtpReply.ServiceClosing("Internal error; closing connection"));
        }
        finally
        {
            _chunks?.Dispose(); // a transaction cut off: its share of the memory budget goes back
            _watch?.Dispose();
        }
    }

    private sealed class SessionClosed : Exception;

    /// <summary>The account of an authenticated session changed (suspended, reset, password or app password revoked) while it waited.</summary>
    private sealed class SessionExpired : Exception;

    /// <summary>The server is stopping and the session is at rest: 421 and close.</summary>
    private sealed class Draining : Exception;

    private IChangeSubscription? _watch;
    private Task<bool>? _watchWait;

    /// <summary>
    /// Waits for the client's next command. An authenticated session also listens to its account's change
    /// feed, so a suspension, reset or password change on any node closes it with 421 at once instead of
    /// at its next transaction. The pending read is kept across wake-ups: a wake-up that changes nothing
    /// goes back to the same read.
    /// </summary>
    private async Task<ReadResult> ReadCommandAsync(CancellationToken ct, bool allowEmpty = false)
    {
        if (allowEmpty && Input.TryRead(out var ready))
        {
            return ready;
        }

        // The server's stop ends the session here unless a transaction is in flight (it finishes first)
        // or a command line has begun to arrive.
        var shutdown = _context.Shutdown ?? ShutdownSignal.None;
        var resting = _mail is null && _lineDeadline is null;
        if (resting && shutdown.IsDraining)
        {
            throw new Draining();
        }

        var read = ReadAsync(Smtp.CommandTimeoutSeconds, ct);
        var stop = resting ? shutdown.Begun : null;
        var watching = _watch is not null;
        while (true)
        {
            if (_watch is { } w && watching && (_watchWait is null || _watchWait.IsCompleted))
            {
                _watchWait = w.Reader.WaitToReadAsync(ct).AsTask();
            }

            var first = await Task.WhenAny(new[] { read, stop, watching ? _watchWait : null }.OfType<Task>());
            if (first == read)
            {
                break;
            }

            if (first == stop)
            {
                throw new Draining();
            }

            var watch = _watch!;
            if (!await _watchWait!)
            {
                watching = false; // the feed ended: commands still check at MAIL
                continue;
            }

            var accountChanged = false;
            while (watch.Reader.TryRead(out var change))
            {
                accountChanged |= (change.Kinds & ChangeKinds.AccountChanged) != 0;
            }

            if (accountChanged && _account is { } owner && !await StillStandsAsync(owner, ct))
            {
                throw new SessionExpired();
            }
        }

        return await read;
    }

    private string MetricProtocol => _kind == SmtpListenerKind.Inbound ? "smtp" : "submission";

    /// <summary>A failure of the command's own work, not of the connection or the session's end.</summary>
    private static bool IsCommandFault(Exception ex) =>
        ex is not (IOException or OperationCanceledException or SessionClosed or TooManyErrors or Draining or System.Security.Authentication.AuthenticationException or ObjectDisposedException);

    private readonly record struct Outcome(bool Stop, bool NeedsInput, Func<CancellationToken, Task<bool>>? Continue)
    {
        public static Outcome Next => default;
        public static Outcome Close => new(true, false, null);
        public static Outcome Then(Func<CancellationToken, Task<bool>> next) => new(false, true, next);
    }

    /// <summary>Each verb's name as logs and metrics print it, made once.</summary>
    private static readonly string[] VerbNames = Enum.GetValues<SmtpVerb>().Select(v => v.ToString().ToUpperInvariant()).ToArray();

    /// <summary>The command table: each verb's handler, one file per verb under Commands/.</summary>
    private ValueTask<Outcome> HandleAsync(byte[] line, SmtpCommand command, ReadOnlySequence<byte> rest, CancellationToken ct)
    {
        if (line.AsSpan().IndexOf((byte)0) >= 0)
        {
            Error(SmtpReply.SyntaxError("NUL bytes are not allowed in commands"));
            return new(Outcome.Next);
        }

        return command.Verb switch
        {
            SmtpVerb.Ehlo or SmtpVerb.Helo => new(Ehlo(command)),
            SmtpVerb.Mail => MailAsync(command, ct),
            SmtpVerb.Rcpt => RcptAsync(command, ct),
            SmtpVerb.Data => new(Data(command)),
            SmtpVerb.Bdat => new(Bdat(command.Argument)),
            SmtpVerb.Rset => new(Rset()),
            SmtpVerb.Noop => new(Noop()),
            SmtpVerb.Quit => new(Quit()),
            SmtpVerb.Help => new(Help()),
            SmtpVerb.Vrfy or SmtpVerb.Expn => new(Vrfy()),
            SmtpVerb.StartTls => new(StartTls(rest)),
            SmtpVerb.Auth => new(Auth(command.Argument)),
            _ => new(Unknown()),
        };
    }

    private Outcome Unknown()
    {
        Error(SmtpReply.UnknownCommand);
        return Outcome.Next;
    }

    private void ResetTransaction()
    {
        _mail = null;
        _recipients.Clear();
        _remoteRecipients.Clear();
        _forwards.Clear();
        _chunks?.Dispose();
        _chunks = null;
    }

    private void Send(SmtpReply reply) => Output.Write(Encoding.UTF8.GetBytes(reply.Format(_esmtp)));

    /// <summary>Counts errors; past the limit the session ends with 421 (RFC 5321 §4.3.2).</summary>
    private void Error(SmtpReply reply)
    {
        Send(reply);
        if (++_errors >= Smtp.MaxErrorsPerSession)
        {
            Send(SmtpReply.ServiceClosing("Too many errors; closing connection"));
            throw new TooManyErrors();
        }
    }

    private sealed class TooManyErrors : Exception;

    private DateTimeOffset? _lineDeadline; // set when a command line's first octets arrive, cleared when it is complete

    private async Task<ReadResult> ReadAsync(int timeoutSeconds, CancellationToken ct, bool allowEmpty = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var limit = TimeSpan.FromSeconds(timeoutSeconds);
        if (_lineDeadline is { } deadline)
        {
            limit = TimeSpan.FromTicks(Math.Clamp((deadline - DateTimeOffset.UtcNow).Ticks, TimeSpan.TicksPerMillisecond, limit.Ticks));
        }

        timeout.CancelAfter(limit);
        if (allowEmpty && Input.TryRead(out var ready))
        {
            return ready;
        }

        return await Input.ReadAsync(timeout.Token);
    }

    private async Task FlushAsync(CancellationToken ct) => await Output.FlushAsync(ct);

    private async Task TryLastWordAsync(SmtpReply? reply)
    {
        try
        {
            if (reply is not null)
            {
                Send(reply);
            }

            await Output.FlushAsync();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }
}
