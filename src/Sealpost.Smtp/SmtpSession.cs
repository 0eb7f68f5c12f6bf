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
using Sealpost.Core.Connections;
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
    ShutdownSignal? Shutdown = null);

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
public sealed class SmtpSession
{
    private readonly SmtpContext _context;
    private readonly SmtpListenerKind _kind;
    private IPEndPoint? _remote;
    private bool _proxied;
    private PipeReader _input;
    private PipeWriter _output;
    private bool _tls;
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

    /// <param name="proxiedFrom">The client a PROXY header read before TLS named (port 465 behind a load balancer).</param>
    public SmtpSession(SmtpContext context, SmtpListenerKind kind, IDuplexPipe transport, IPEndPoint? remote, bool alreadyTls, IPEndPoint? proxiedFrom = null)
    {
        _context = context;
        _kind = kind;
        _input = transport.Input;
        _output = transport.Output;
        _remote = ClientEndpoint.Normalise(proxiedFrom ?? remote);
        _proxied = proxiedFrom is not null;
        _tls = alreadyTls;
    }

    /// <summary>
    /// For an implicit-TLS listener behind a load balancer: reads the PROXY v2 header from the raw
    /// connection before the TLS handshake (the header comes in clear). Null if missing or broken (logged).
    /// </summary>
    public static async Task<IPEndPoint?> ReadProxyBeforeTlsAsync(SmtpContext context, PipeReader raw, IPEndPoint? remote, CancellationToken ct)
    {
        var (ok, source, error) = await ProxyProtocol.ReadAsync(raw, ct);
        if (!ok)
        {
            SmtpLog.ConnectionRefused(context.Logger, remote?.Address.ToString() ?? "unknown", "PROXY header: " + error);
            return null;
        }

        return source ?? remote;
    }

    private SmtpOptions Smtp => _context.Options.Smtp;
    private LimitOptions Limits => _context.Options.Limits;
    private bool IsSubmission => _kind != SmtpListenerKind.Inbound;
    private bool IsLoopback => !_proxied && _remote is not null && IPAddress.IsLoopback(_remote.Address);
    private bool AuthAllowed => IsSubmission && (_tls || (IsLoopback && Smtp.AllowPlaintextAuthOnLoopback && _context.Development));

    /// <summary>
    /// Serves the connection to its end. A connection's end is never an error for the host: a client that
    /// hangs up (the connection's token cancelled) or a transport that breaks ends the session quietly.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var counted = Sealpost.Core.Observability.SealpostMetrics.Session(_kind == SmtpListenerKind.Inbound ? "smtp" : "submission");
        try
        {
            await ServeAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException && ct.IsCancellationRequested)
        {
        }
    }

    private async Task ServeAsync(CancellationToken ct)
    {
        if (Smtp.ProxyProtocol && !_proxied && !await ReadProxyHeaderAsync(ct))
        {
            return;
        }

        using var slot = _context.Connections.TryEnter(ClientAddress, out var refusal);
        if (slot is null)
        {
            SmtpLog.ConnectionRefused(_context.Logger, ClientAddress, refusal!);
            await TryLastWordAsync(SmtpReply.ServiceClosing(refusal!));
            return;
        }

        await RunSessionAsync(ct);
    }

    private string ClientAddress => _remote?.Address.ToString() ?? "unknown";

    /// <summary>Reads the PROXY v2 header; false (connection dropped without a word) if it is missing or broken.</summary>
    private async Task<bool> ReadProxyHeaderAsync(CancellationToken ct)
    {
        var (ok, source, error) = await ProxyProtocol.ReadAsync(_input, ct);
        if (!ok)
        {
            SmtpLog.ConnectionRefused(_context.Logger, ClientAddress, "PROXY header: " + error);
            return false;
        }

        _proxied = true;
        _remote = ClientEndpoint.Normalise(source) ?? _remote;
        return true;
    }

    private async Task RunSessionAsync(CancellationToken ct)
    {
        try
        {
            Send(new SmtpReply(220, null, $"{_context.Options.Hostname} ESMTP Sealpost"));
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
                        _input.AdvanceTo(buffer.End);
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
                        _input.AdvanceTo(buffer.Start);
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

                _input.AdvanceTo(buffer.Start, buffer.End);
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
        if (allowEmpty && _input.TryRead(out var ready))
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

    private async Task<Outcome> HandleAsync(byte[] line, SmtpCommand command, ReadOnlySequence<byte> rest, CancellationToken ct)
    {
        if (line.AsSpan().IndexOf((byte)0) >= 0)
        {
            Error(SmtpReply.SyntaxError("NUL bytes are not allowed in commands"));
            return Outcome.Next;
        }

        switch (command.Verb)
        {
            case SmtpVerb.Ehlo or SmtpVerb.Helo:
                if (string.IsNullOrWhiteSpace(command.Argument))
                {
                    Error(SmtpReply.SyntaxError("Syntax: EHLO hostname"));
                    return Outcome.Next;
                }

                _helo = command.Argument.Trim();
                _esmtp = command.Verb == SmtpVerb.Ehlo;
                ResetTransaction();
                Send(_esmtp ? EhloReply() : new SmtpReply(250, null, _context.Options.Hostname));
                return Outcome.Next;
            case SmtpVerb.Mail:
                if (_account is { } owner && !await StillStandsAsync(owner, ct))
                {
                    Send(SmtpReply.ServiceClosing("This session's credentials changed or the account was suspended; authenticate again"));
                    return Outcome.Close;
                }

                await AnsweringDomainErrorsAsync(() => MailAsync(command.Argument, ct));
                return Outcome.Next;
            case SmtpVerb.Rcpt:
                await AnsweringDomainErrorsAsync(() => RcptAsync(command.Argument, ct));
                return Outcome.Next;
            case SmtpVerb.Data:
                if (!string.IsNullOrEmpty(command.Argument))
                {
                    Error(SmtpReply.SyntaxError("Syntax: DATA takes no argument"));
                    return Outcome.Next;
                }

                if (_chunks is not null)
                {
                    Error(SmtpReply.BadSequence("DATA cannot follow BDAT"));
                    return Outcome.Next;
                }

                if (!CheckTransactionReady())
                {
                    return Outcome.Next;
                }

                Send(SmtpReply.StartData);
                return Outcome.Then(ReceiveDataAsync);
            case SmtpVerb.Bdat:
                return Bdat(command.Argument);
            case SmtpVerb.Rset:
                ResetTransaction();
                Send(SmtpReply.Ok());
                return Outcome.Next;
            case SmtpVerb.Noop:
                Send(SmtpReply.Ok());
                return Outcome.Next;
            case SmtpVerb.Quit:
                Send(SmtpReply.Closing);
                return Outcome.Close;
            case SmtpVerb.Help:
                Send(SmtpReply.Help);
                return Outcome.Next;
            case SmtpVerb.Vrfy or SmtpVerb.Expn:
                Send(SmtpReply.CannotVerify); // RFC 5321 §3.5.3: say nothing about who exists
                return Outcome.Next;
            case SmtpVerb.StartTls:
                return StartTls(rest);
            case SmtpVerb.Auth:
                return Auth(command.Argument);
            default:
                Error(SmtpReply.UnknownCommand);
                return Outcome.Next;
        }
    }

    private SmtpReply EhloReply()
    {
        var lines = new List<string>
        {
            $"{_context.Options.Hostname} greets {(_helo!.Length > 64 ? _helo[..64] : _helo)}",
            "PIPELINING",
            $"SIZE {Limits.MaxMessageBytes.ToString(CultureInfo.InvariantCulture)}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "DSN",
        };
        if (!_tls && _kind != SmtpListenerKind.SubmissionImplicitTls)
        {
            lines.Add("STARTTLS");
        }
        else
        {
            lines.Add("REQUIRETLS");
        }

        if (AuthAllowed)
        {
            lines.Add("AUTH " + string.Join(' ', SaslExchange.Mechanisms));
        }

        lines.Add("HELP");
        return new SmtpReply(250, null, string.Join('\n', lines));
    }

    /// <summary>
    /// A suspension, deletion, reset or password change ends submission sessions opened before it: checked
    /// at each transaction's MAIL (one point read). Store trouble counts as standing; MAIL answers it itself.
    /// </summary>
    private async Task<bool> StillStandsAsync(Account owner, CancellationToken ct)
    {
        try
        {
            return await _context.Authentication.SessionStandsAsync(owner, ct);
        }
        catch (SealpostException)
        {
            return true;
        }
    }

    private async Task MailAsync(string argument, CancellationToken ct)
    {
        if (_helo is null)
        {
            Error(SmtpReply.BadSequence("Send EHLO or HELO first"));
            return;
        }

        if (_mail is not null)
        {
            Error(SmtpReply.BadSequence("Nested MAIL command"));
            return;
        }

        if (IsSubmission && _account is null)
        {
            Error(_tls || AuthAllowed ? SmtpReply.AuthRequired : SmtpReply.EncryptionRequired);
            return;
        }

        if (!SmtpGrammar.TryParsePath(argument, "FROM:", out var path, out var error))
        {
            Error(SmtpReply.SyntaxError(error));
            return;
        }

        if (path.Address.Length > 0)
        {
            if (!MailAddress.TryParse(path.Address, out var sender, out var why))
            {
                Error(SmtpReply.InvalidAddress("Bad sender address: " + why));
                return;
            }

            if (!path.Address.All(char.IsAscii) && !path.Parameters.ContainsKey("SMTPUTF8"))
            {
                Error(SmtpReply.Utf8NotRequested);
                return;
            }

            if (_account is { } account && !(_sendable = await _context.Agent.SendableAddressesAsync(_actor!, account, ct)).Contains(sender.Key))
            {
                SmtpLog.SenderRefused(_context.Logger, account.Id, _context.Redactor.Address(sender));
                Error(SmtpReply.SenderNotOwned(path.Address));
                return;
            }
        }
        else if (IsSubmission)
        {
            Error(SmtpReply.SenderNotOwned(""));
            return;
        }

        if (path.Parameters.TryGetValue("SIZE", out var size) && size is not null)
        {
            if (!long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var declared))
            {
                Error(SmtpReply.SyntaxError("SIZE needs a number"));
                return;
            }

            if (declared > Limits.MaxMessageBytes)
            {
                Error(SmtpReply.MessageTooBig);
                return;
            }
        }

        if (path.Parameters.TryGetValue("BODY", out var body) && body is not null && body.ToUpperInvariant() is not ("7BIT" or "8BITMIME" or "BINARYMIME"))
        {
            Error(SmtpReply.SyntaxError("BODY must be 7BIT or 8BITMIME"));
            return;
        }

        if (path.Parameters.ContainsKey("REQUIRETLS") && !_tls)
        {
            Error(new SmtpReply(530, "5.7.10", "REQUIRETLS needs TLS"));
            return;
        }

        // RFC 1870 §6.2: a declared size that the shared message memory cannot take now is deferred at
        // once (452 4.3.1). Nothing is set aside for it: memory is taken as the data arrives, so a client
        // that announces a large SIZE and then sends nothing holds none.
        if (_context.MessageMemory is { } memory && path.Parameters.TryGetValue("SIZE", out var sizeText)
            && long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var announced)
            && (announced > memory.Capacity - memory.Used || announced > memory.PerHolder - memory.HeldBy(ClientAddress)))
        {
            SmtpLog.MemoryBudgetExhausted(_context.Logger, memory.Capacity);
            Send(SmtpReply.InsufficientStorage);
            return;
        }

        _mail = path; // DSN (RET, ENVID) and REQUIRETLS are kept with the envelope for the outbound queue
        Send(SmtpReply.SenderOk);
    }

    private async Task RcptAsync(string argument, CancellationToken ct)
    {
        if (_mail is null)
        {
            Error(SmtpReply.BadSequence("Need MAIL before RCPT"));
            return;
        }

        if (!SmtpGrammar.TryParsePath(argument, "TO:", out var path, out var error))
        {
            Error(SmtpReply.SyntaxError(error));
            return;
        }

        if (!MailAddress.TryParse(path.Address, out var recipient, out var why))
        {
            Error(SmtpReply.InvalidAddress("Bad recipient address: " + why));
            return;
        }

        if (!path.Address.All(char.IsAscii) && !_mail.Parameters.ContainsKey("SMTPUTF8"))
        {
            Error(SmtpReply.Utf8NotRequested);
            return;
        }

        if (RecipientCount >= Limits.MaxRecipients)
        {
            Send(SmtpReply.TooManyRecipients);
            return;
        }

        var declared = _mail.Parameters.TryGetValue("SIZE", out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var d) ? d : 0;
        var check = await _context.Agent.CheckRecipientAsync(SessionActor, recipient, declared, ct);
        switch (check.Status)
        {
            case RecipientStatus.Local:
                _recipients.Add((recipient, check.Accounts));
                _forwards.AddRange(check.Forwards.Select(f => (recipient, f)));
                Send(SmtpReply.RecipientOk);
                break;
            case RecipientStatus.Unknown:
                Error(SmtpReply.UnknownUser);
                break;
            case RecipientStatus.OverQuota:
                Send(SmtpReply.MailboxFull);
                break;
            case RecipientStatus.Remote when _account is null:
                SmtpLog.RelayRefused(_context.Logger, _remote?.Address.ToString() ?? "?", _context.Redactor.Address(recipient));
                Error(SmtpReply.RelayDenied);
                break;
            default:
                // An authenticated sender may send anywhere: the message goes to the outbound queue.
                _remoteRecipients.Add((recipient, path.Parameters));
                Send(SmtpReply.RecipientOk);
                break;
        }
    }

    private bool CheckTransactionReady()
    {
        if (_mail is null)
        {
            Error(SmtpReply.BadSequence("Need MAIL first"));
            return false;
        }

        if (RecipientCount == 0)
        {
            Error(SmtpReply.NoValidRecipients);
            return false;
        }

        return true;
    }

    private async Task<bool> ReceiveDataAsync(CancellationToken ct)
    {
        using var reader = new DataReader(Limits.MaxMessageBytes, Smtp.BareLineEnds == "normalize", _context.MessageMemory, ClientAddress);
        while (!reader.Complete)
        {
            var result = await ReadAsync(Smtp.DataTimeoutSeconds, ct);
            var consumed = reader.Consume(result.Buffer);
            _input.AdvanceTo(consumed, result.Buffer.End);
            if (result.IsCompleted && !reader.Complete)
            {
                return false; // the peer hung up mid-message: nothing was stored
            }
        }

        if (reader.TooBig)
        {
            Send(SmtpReply.MessageTooBig);
        }
        else if (reader.OverBudget)
        {
            SmtpLog.MemoryBudgetExhausted(_context.Logger, _context.MessageMemory?.Capacity ?? 0);
            Send(SmtpReply.InsufficientStorage);
        }
        else if (reader.SawBareLineEnd && Smtp.BareLineEnds == "reject")
        {
            Send(SmtpReply.BareLineFeed);
        }
        else
        {
            await DeliverAsync(reader.ToArray(), ct);
        }

        ResetTransaction();
        return true;
    }

    private Outcome Bdat(string argument)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || (parts.Length == 2 && !parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase)))
        {
            Error(SmtpReply.SyntaxError("Syntax: BDAT size [LAST]"));
            return Outcome.Close; // RFC 3030 §4.2: after a bad BDAT the chunk boundary is lost; close
        }

        var last = parts.Length == 2;
        var ready = _mail is not null && RecipientCount > 0;
        return Outcome.Then(async ct =>
        {
            // RFC 3030 §2: the chunk is read whatever happens, so the session stays in step.
            _chunks ??= new MessageBuffer(Limits.MaxMessageBytes, _context.MessageMemory, ClientAddress);
            var remaining = size;
            while (remaining > 0)
            {
                var result = await ReadAsync(Smtp.DataTimeoutSeconds, ct);
                var take = result.Buffer.Slice(0, Math.Min(remaining, result.Buffer.Length));
                foreach (var segment in take)
                {
                    _chunks.Write(segment.Span); // past the limits it only notes the fact
                }

                remaining -= take.Length;
                _input.AdvanceTo(take.End);
                if (result.IsCompleted && remaining > 0)
                {
                    return false;
                }
            }

            if (!ready)
            {
                Error(_mail is null ? SmtpReply.BadSequence("Need MAIL first") : SmtpReply.NoValidRecipients);
                _chunks.Dispose();
                _chunks = null;
                return true;
            }

            if (_chunks.TooBig || _chunks.OverBudget)
            {
                if (_chunks.OverBudget && !_chunks.TooBig)
                {
                    SmtpLog.MemoryBudgetExhausted(_context.Logger, _context.MessageMemory?.Capacity ?? 0);
                }

                Send(_chunks.TooBig ? SmtpReply.MessageTooBig : SmtpReply.InsufficientStorage);
                ResetTransaction();
                return true;
            }

            if (!last)
            {
                Send(SmtpReply.Ok($"{size} octets received"));
                return true;
            }

            await DeliverAsync(_chunks.ToArray(), ct);
            ResetTransaction();
            return true;
        });
    }

    private async Task DeliverAsync(byte[] message, CancellationToken ct)
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var with = (_esmtp ? "ESMTP" : "SMTP") + (_tls ? "S" : "") + (_account is not null ? "A" : "");
        var received = $"Received: from {Sanitise(_helo!)} ({ClientEndpoint.AddressLiteral(_remote?.Address)}) by {_context.Options.Hostname} with {with} id {id}; " +
                       DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " +0000\r\n";
        if (_account is { } owner && _sendable is { } sendable && HeaderSenders(message).FirstOrDefault(a => !sendable.Contains(a)) is { } foreign)
        {
            SmtpLog.HeaderSenderRefused(_context.Logger, owner.Id);
            Send(SmtpReply.HeaderSenderNotOwned(foreign));
            return;
        }

        var role = Sealpost.Core.Mail.MailboxRole.Inbox;
        string? dkimDomain = null;
        if (_kind == SmtpListenerKind.Inbound && _context.SenderAuthentication is { } authenticator && _remote is not null)
        {
            // RFC 8601 §5: a sender's own Authentication-Results claiming to be ours are removed first.
            message = Authentication.SenderAuthenticator.RemoveOurResults(message, _context.Options.Hostname);
            var verdict = await authenticator.EvaluateAsync(_remote.Address, _helo!, _mail!.Address, message, ct);
            dkimDomain = verdict.Dkim == "pass" ? verdict.DkimDomain : null;
            received += verdict.Header(_context.Options.Hostname);
            if (verdict.Dmarc == "fail" && verdict.DmarcPolicy is "reject" or "quarantine")
            {
                if (Smtp.AuthenticationPolicy == "reject")
                {
                    SmtpLog.DmarcRejected(_context.Logger, id, verdict.FromDomain ?? "?");
                    Send(new SmtpReply(550, "5.7.1", "Message refused: DMARC policy of the sender's domain"));
                    return;
                }

                if (Smtp.AuthenticationPolicy == "quarantine")
                {
                    role = Sealpost.Core.Mail.MailboxRole.Junk;
                }
            }
        }

        if (_kind == SmtpListenerKind.Inbound && Smtp.OwnDomainSenders == "refuse" && _remote is not null && !TrustedRelay(_remote.Address)
            && await ClaimedOwnDomainAsync(message, dkimDomain, ct) is { } claimed)
        {
            SmtpLog.OwnDomainRefused(_context.Logger, id, ClientEndpoint.AddressLiteral(_remote.Address));
            Send(SmtpReply.OwnDomainSpoofed(claimed));
            return;
        }

        var withHeaders = TraceHeaders.Add(message, _mail!.Address, received, IsSubmission, _context.Options.Hostname);
        try
        {
            // Both durable before 250. If the second fails the client retries and local recipients may
            // get a duplicate: at least once, never lost.
            var accounts = _recipients.SelectMany(r => r.Accounts).ToList();
            if (accounts.Count > 0)
            {
                await _context.Agent.DeliverAsync(SessionActor, withHeaders, accounts, id, ct, role);
            }

            foreach (var via in _forwards.DistinctBy(f => f.Target.Key).GroupBy(f => f.Via.Domain))
            {
                await _context.Agent.ForwardAsync(SessionActor, _mail.Address, via.Key, via.Select(f => f.Target).ToList(), withHeaders, _mail.Parameters, id, ct);
            }

            if (_remoteRecipients.Count > 0)
            {
                await _context.Agent.EnqueueAsync(SessionActor, new Sealpost.Crypto.Vault.OutboundMessage(
                    _mail.Address,
                    _remoteRecipients.Select(r => r.Address.ToString()).ToList(),
                    _mail.Parameters,
                    _remoteRecipients.Select(r => r.Parameters).ToList(),
                    withHeaders), id, ct);
            }

            SmtpLog.Delivered(_context.Logger, id, RecipientCount, withHeaders.Length);
            Send(SmtpReply.Queued(id));
        }
        catch (SealpostException ex)
        {
            SmtpLog.DeliveryFailed(_context.Logger, id, ex.Kind == ErrorKind.TemporarilyUnavailable ? FailureCause.Describe(ex) : ex.Kind.ToString());
            if (ex.Kind == ErrorKind.TemporarilyUnavailable)
            {
                Sealpost.Core.Observability.SealpostMetrics.RecordStoreError(MetricProtocol, FailureCause.Describe(ex));
            }
            Send(ex.Kind == ErrorKind.Forbidden ? SmtpReply.NotPermitted : SmtpReply.LocalError);
        }
    }

    private bool TrustedRelay(System.Net.IPAddress address)
    {
        var mapped = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var relay in Smtp.TrustedRelays)
        {
            if (System.Net.IPNetwork.TryParse(relay, out var network) ? network.Contains(mapped) : System.Net.IPAddress.TryParse(relay, out var one) && one.Equals(mapped))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The first of our own domains the message claims to come from (envelope sender, From and
    /// Sender headers) without a passing DKIM signature aligned with it; null if none.
    /// </summary>
    private async Task<string?> ClaimedOwnDomainAsync(byte[] message, string? dkimDomain, CancellationToken ct)
    {
        var claims = HeaderSenders(message).Append(_mail!.Address).Where(a => a.Contains('@', StringComparison.Ordinal)).Select(a => a[(a.LastIndexOf('@') + 1)..]).Distinct(StringComparer.OrdinalIgnoreCase);
        foreach (var claim in claims)
        {
            if (!DomainName.TryParse(claim, out var domain, out _) || !await _context.Agent.IsOurDomainAsync(SessionActor, domain, ct))
            {
                continue;
            }

            var aligned = dkimDomain is not null && (domain.Ascii.Equals(dkimDomain, StringComparison.OrdinalIgnoreCase)
                || domain.Ascii.EndsWith("." + dkimDomain, StringComparison.OrdinalIgnoreCase) || dkimDomain.EndsWith("." + domain.Ascii, StringComparison.OrdinalIgnoreCase));
            if (!aligned)
            {
                return domain.Ascii;
            }
        }

        return null;
    }

    /// <summary>
    /// The addresses a message says it is from (every From mailbox and the Sender), as address keys;
    /// an unparsable header counts as a foreign address ("?"), so it is refused rather than trusted.
    /// </summary>
    private static IEnumerable<string> HeaderSenders(byte[] message)
    {
        using var stream = new MemoryStream(message);
        MimeKit.HeaderList headers;
        try
        {
            headers = MimeKit.HeaderList.Load(stream);
        }
        catch (FormatException)
        {
            yield break;
        }

        foreach (var header in headers.Where(h => h.Id is MimeKit.HeaderId.From or MimeKit.HeaderId.Sender))
        {
            if (!MimeKit.InternetAddressList.TryParse(header.Value, out var list) || !list.Mailboxes.Any())
            {
                yield return "?";
                continue;
            }

            foreach (var mailbox in list.Mailboxes)
            {
                yield return MailAddress.TryParse(mailbox.Address, out var address, out _) ? address.Key : mailbox.Address;
            }
        }
    }

    /// <summary>A refusal by the permission matrix is 550 5.7.1, an unavailable store 451: the session goes on.</summary>
    private async Task AnsweringDomainErrorsAsync(Func<Task> command)
    {
        try
        {
            await command();
        }
        catch (SealpostException ex) when (ex.Kind is ErrorKind.Forbidden or ErrorKind.TemporarilyUnavailable)
        {
            Error(ex.Kind == ErrorKind.Forbidden ? SmtpReply.NotPermitted : SmtpReply.CommandFailed);
        }
    }

    private static string Sanitise(string helo) => new(helo.Take(64).Select(c => char.IsControl(c) || c is '(' or ')' ? '?' : c).ToArray());

    private Outcome StartTls(ReadOnlySequence<byte> rest)
    {
        if (_tls || _kind == SmtpListenerKind.SubmissionImplicitTls)
        {
            Error(SmtpReply.BadSequence("TLS is already active"));
            return Outcome.Next;
        }

        if (!rest.IsEmpty)
        {
            // RFC 3207 §4.2 / CVE-2011-0411: anything pipelined after STARTTLS would be read as if it came over TLS.
            Send(SmtpReply.CommandAfterStartTls);
            return Outcome.Close;
        }

        Send(SmtpReply.ReadyForTls);
        return Outcome.Then(async ct =>
        {
            await FlushAsync(ct);
            var ssl = new SslStream(new DuplexPipeStream(_input, _output), leaveInnerStreamOpen: false);
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct);
            handshake.CancelAfter(TimeSpan.FromSeconds(30));
            // The ClientHello's SNI picks the certificate, as on the implicit-TLS port.
            await ssl.AuthenticateAsServerAsync(
                (_, hello, _, _) => ValueTask.FromResult(_context.TlsOptions(hello.ServerName)), null, handshake.Token);
            TlsIdleBuffers.Enable(ssl);
            Sealpost.Core.Observability.SealpostMetrics.RecordTlsHandshake(MetricProtocol, ssl);
            _input = PipeReader.Create(ssl);
            _output = PipeWriter.Create(ssl);
            _tls = true;
            _helo = null; // RFC 3207 §4.2: forget everything learned before TLS
            _esmtp = false;
            _account = null;
            _watch?.Dispose();
            _watch = null;
            _watchWait = null;
            ResetTransaction();
            return true;
        });
    }

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
            Error(new SmtpReply(504, "5.5.4", "Unrecognised authentication mechanism"));
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
        Send(new SmtpReply(334, null, challenge));
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
                _input.AdvanceTo(buffer.Start);
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

            _input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new SessionClosed();
            }
        }
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

    private void Send(SmtpReply reply) => _output.Write(Encoding.UTF8.GetBytes(reply.Format(_esmtp)));

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
        if (allowEmpty && _input.TryRead(out var ready))
        {
            return ready;
        }

        return await _input.ReadAsync(timeout.Token);
    }

    private async Task FlushAsync(CancellationToken ct) => await _output.FlushAsync(ct);

    private async Task TryLastWordAsync(SmtpReply? reply)
    {
        try
        {
            if (reply is not null)
            {
                Send(reply);
            }

            await _output.FlushAsync();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }
}
