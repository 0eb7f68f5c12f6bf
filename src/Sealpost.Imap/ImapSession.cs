using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Sealpost.Core;
using Sealpost.Connections;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;
using Sealpost.Core.Security;
using Sealpost.Core.Storage;
using Sealpost.Domain;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

/// <summary>
/// One IMAP connection (RFC 9051, with RFC 3501 behaviour until the client enables IMAP4rev2).
/// Invariants:
/// <list type="bullet">
/// <item>Commands are framed by <see cref="ImapFramer"/> and parsed by <see cref="ImapParser"/>, both
/// pure; handlers (one file per command under Commands/) only reach storage through services.</item>
/// <item>The selected mailbox's sequence numbers change only when the client is told (EXISTS,
/// EXPUNGE); EXPUNGE is never sent during FETCH, STORE or SEARCH (RFC 9051 §7.5.1).</item>
/// <item>Data responses are records (<see cref="DataResponse"/>) written by <see cref="ResponseWriter"/>, status
/// responses carry a <see cref="ResponseCode"/>: handlers say what, never spell IMAP syntax.</item>
/// <item>Responses to pipelined commands are flushed once no further complete command is buffered.</item>
/// <item><see cref="RunAsync"/> is the one place exceptions become responses: a command error is a
/// tagged NO or BAD and the session goes on; a protocol error ends it with BYE.</item>
/// </list>
/// </summary>
public sealed partial class ImapSession
{
    private readonly ImapContext _context;
    private readonly ImapListenerKind _kind;
    private readonly Connection _connection;
    private int _badCommands;
    private int _authFailures;
    private FramerState _framer;

    private Account? _account;
    private Actor? _actor;
    private MailAccess? _mail;
    private readonly string _correlationId = Actor.NewCorrelationId();
    private IAccountSession? _keys;
    private IChangeSubscription? _changes;
    private SelectedMailbox? _selected;
    private KeywordNames? _keywords;
    private bool _rev2;
    private bool _utf8;
    private bool _condStore;
    private bool _qresync;
    private IReadOnlyList<uint>? _savedResult;

    /// <summary>
    /// A session over a connection the listener has set up (PROXY header read, TLS on the implicit-TLS
    /// port, the connection gate passed). The connection reads with zero-byte reads, so an idle session
    /// holds no read buffer (STACK.md).
    /// </summary>
    public ImapSession(ImapContext context, ImapListenerKind kind, Connection connection)
    {
        _context = context;
        _kind = kind;
        _connection = connection;
    }

    private PipeReader Input => _connection.Input;

    private PipeWriter Output => _connection.Output;

    private bool LoginAllowed => _connection.Tls || (_connection.IsLoopback && _context.Imap.AllowPlaintextAuthOnLoopback && _context.Development);

    private string ClientAddress => _connection.ClientAddress;

    private bool Authenticated => _account is not null;

    /// <summary>The last line a connection refused by the gate hears.</summary>
    public static string Refusal(string reason) => "* BYE " + reason;

    /// <summary>Logs a connection refused before its session began (gate or PROXY header; event 5003).</summary>
    public static void Refused(ImapContext context, string remote, string reason) =>
        ImapLog.ConnectionRefused(context.Logger, remote, reason);

    public async Task RunAsync(CancellationToken ct)
    {
        using var counted = Sealpost.Core.Observability.SealpostMetrics.Session("imap");
        try
        {
            await RunSessionAsync(ct);
        }
        finally
        {
            ReleaseLiteralMemory();
            EndLogin();
        }
    }

    private sealed class SessionEnded : Exception;

    /// <summary>A command error: tagged NO with an optional response code (RFC 9051 §7.1).</summary>
    private sealed class CommandFailed(ResponseCode? code, string text) : Exception(text)
    {
        public ResponseCode? Code { get; } = code;
    }

    private static CommandFailed No(string text, ResponseCode? code = null) => new(code, text);

    private async Task RunSessionAsync(CancellationToken ct)
    {
        try
        {
            Untagged("OK", ResponseCode.Capability(Capabilities()), "Sealpost IMAP ready");
            await FlushAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                var result = await ReadCommandInputAsync(ct);
                var buffer = result.Buffer;
                var executed = false;
                while (!executed)
                {
                    var maxLiteral = Authenticated ? _context.Imap.AppendLimitBytes : _context.Imap.MaxPreAuthLiteralBytes;
                    var status = ImapFramer.TryFrame(buffer, ref _framer, _context.Imap.MaxLineBytes, maxLiteral, out var length, out var literal);
                    if (status is FrameStatus.NeedMore or FrameStatus.NeedContinuation && (buffer.Length > 0 || _framer.Scanned > 0))
                    {
                        _commandDeadline ??= DateTimeOffset.UtcNow.AddSeconds(_context.Imap.CommandTimeoutSeconds); // a command has begun
                    }

                    if (status is FrameStatus.NeedContinuation or FrameStatus.NeedMore or FrameStatus.Complete && !ReserveLiteralMemory())
                    {
                        // The shared message memory is taken (Limits:MaxMessageMemoryBytes): refuse the command.
                        var tag = TagOf(buffer.Slice(0, Math.Min(_framer.Scanned, buffer.Length)));
                        ImapLog.LiteralMemoryExhausted(_context.Logger, _context.MessageMemory!.Capacity);
                        if (status == FrameStatus.NeedMore)
                        {
                            // A non-synchronising literal is already on its way (RFC 7888 §4): end the session.
                            Untagged("BYE", ResponseCode.Limit, "Server busy: too much message data in flight; try again later");
                            await FlushAsync(ct);
                            await LingerAsync(buffer);
                            return;
                        }

                        buffer = buffer.Slice(status == FrameStatus.Complete ? length : _framer.Scanned);
                        _framer.Reset();
                        ReleaseLiteralMemory();
                        Tagged(tag, "NO", ResponseCode.Limit, "Server busy: too much message data in flight; try again later");
                        continue;
                    }

                    switch (status)
                    {
                        case FrameStatus.NeedMore:
                            Input.AdvanceTo(buffer.Start, buffer.End);
                            await FlushAsync(ct);
                            if (result.IsCompleted)
                            {
                                return;
                            }

                            executed = true; // read again
                            break;
                        case FrameStatus.NeedContinuation:
                            // RFC 9051 §7.5: the client waits for this before sending a synchronising literal.
                            Send("+ Ready for literal data");
                            await FlushAsync(ct);
                            break;
                        case FrameStatus.LineTooLong:
                            // Without the end of the line we cannot find where the next command starts.
                            Send("* BYE Line too long");
                            ImapLog.SessionClosed(_context.Logger, ClientAddress, "line too long");
                            await FlushAsync(ct);
                            await LingerAsync(buffer);
                            return;
                        case FrameStatus.LiteralTooLarge:
                        {
                            var tag = TagOf(buffer.Slice(0, length));
                            _framer.Reset();
                            ReleaseLiteralMemory();
                            if (!literal.Synchronising)
                            {
                                // RFC 7888 §4: the octets are on their way and cannot be refused; end the session.
                                Untagged("BYE", ResponseCode.TooBig, $"Literal larger than {maxLiteral} octets{(Authenticated ? "" : " before login")}");
                                await FlushAsync(ct);
                                await LingerAsync(buffer);
                                return;
                            }

                            buffer = buffer.Slice(length);
                            _commandDeadline = null;
                            Tagged(tag, "NO", ResponseCode.TooBig, $"Literal larger than {maxLiteral} octets{(Authenticated ? "" : " before login")}");
                            await CountBadAsync(ct);
                            break;
                        }

                        default:
                        {
                            var command = buffer.Slice(0, length).ToArray();
                            var rest = buffer.Slice(length);
                            var nothingBuffered = rest.IsEmpty;
                            _framer.Reset();
                            _commandDeadline = null;
                            Input.AdvanceTo(rest.Start);
                            try
                            {
                                if (await ExecuteAsync(command, ct) == After.Stop)
                                {
                                    await FlushAsync(ct);
                                    return;
                                }
                            }
                            finally
                            {
                                ReleaseLiteralMemory();
                            }

                            if (nothingBuffered)
                            {
                                await FlushAsync(ct); // RFC 2920-style batching: flush once no pipelined command waits
                            }

                            executed = true;
                            break;
                        }
                    }
                }
            }
        }
        catch (SessionEnded)
        {
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && _context.Shutdown.IsDraining)
        {
            // RFC 5530 UNAVAILABLE: the server is stopping; a client reconnects (to another node).
            await TryLastWordAsync(DrainBye);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await TryLastWordAsync("* BYE Autologout; idle for too long");
        }
        catch (OperationCanceledException)
        {
            await TryLastWordAsync("* BYE Server shutting down");
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            // The peer went away or TLS failed: nobody to answer.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ImapLog.SessionFailed(_context.Logger, ex.GetType().Name);
            await TryLastWordAsync("* BYE Internal error; closing connection");
        }
    }

    private enum After { Next, Stop }

    private static readonly string DrainBye = $"* BYE {ResponseCode.Bracketed(ResponseCode.Unavailable)}Server shutting down; reconnect shortly";

    /// <summary>
    /// Between commands (nothing of the next one has arrived), the server's stop ends the wait for
    /// input; inside a command it does not, so the command finishes first.
    /// </summary>
    private CancellationTokenSource LinkForRead(CancellationToken ct, bool betweenCommands)
    {
        if (betweenCommands && _commandDeadline is null)
        {
            _context.Shutdown.Token.ThrowIfCancellationRequested();
            return CancellationTokenSource.CreateLinkedTokenSource(ct, _context.Shutdown.Token);
        }

        return CancellationTokenSource.CreateLinkedTokenSource(ct);
    }

    private long _standingCheckedAt;

    /// <summary>RFC 5530 EXPIRED: access is no longer permitted with what this session logged in with.</summary>
    private static readonly string ExpiredBye = $"* BYE {ResponseCode.Bracketed(ResponseCode.Expired)}This session's credentials changed or the account was suspended; log in again";

    // Set when the change feed says the account changed (any node): the next check is not throttled.
    private bool _accountChanged;

    /// <summary>
    /// A password change, reset, suspension or deletion ends sessions opened before it: checked before a
    /// command at most once a second (one point read), so a busy session pays almost nothing.
    /// </summary>
    private async Task<bool> StillStandsAsync(CancellationToken ct)
    {
        var now = Environment.TickCount64;
        if (now - _standingCheckedAt < 1000 && !_accountChanged)
        {
            return true;
        }

        // Noted only once the store has answered: a check the store could not answer (an outage) is
        // made again before the next command, and a change the feed reported is not forgotten.
        var stands = await _context.Authentication.SessionStandsAsync(_account!, ct);
        _standingCheckedAt = now;
        _accountChanged = false;
        return stands;
    }

    private long _literalMemory; // octets of the shared message memory this command's literals hold

    /// <summary>Sets aside the literals announced so far in this command; false when they do not fit.</summary>
    private bool ReserveLiteralMemory()
    {
        var more = _framer.Literals - _literalMemory;
        if (more <= 0 || _context.MessageMemory is not { } memory)
        {
            return true;
        }

        if (!memory.TryReserve(more, ClientAddress))
        {
            return false;
        }

        _literalMemory += more;
        return true;
    }

    private void ReleaseLiteralMemory()
    {
        _context.MessageMemory?.Release(_literalMemory, ClientAddress);
        _literalMemory = 0;
    }

    /// <summary>
    /// After a BYE sent mid-input, reads and drops what the client is still sending for a moment: closing
    /// with unread input makes the kernel reset the connection, and the reset can destroy the BYE in flight.
    /// </summary>
    private async Task LingerAsync(ReadOnlySequence<byte> unread)
    {
        Input.AdvanceTo(unread.End);
        using var linger = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        long drained = 0;
        try
        {
            while (drained < 64L * 1024 * 1024)
            {
                var result = await Input.ReadAsync(linger.Token);
                drained += result.Buffer.Length;
                Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
        }
    }

    private static string TagOf(ReadOnlySequence<byte> command)
    {
        var bytes = command.Slice(0, Math.Min(command.Length, 64)).ToArray();
        try
        {
            return new ImapParser(bytes).ReadTag();
        }
        catch (ImapParseException)
        {
            return "*";
        }
    }

    /// <summary>The one place a command's exceptions become responses.</summary>
    private async Task<After> ExecuteAsync(byte[] command, CancellationToken ct)
    {
        var parser = new ImapParser(command);
        string tag;
        try
        {
            tag = parser.ReadTag();
            parser.Space();
        }
        catch (ImapParseException)
        {
            var tagOnly = TagOf(new System.Buffers.ReadOnlySequence<byte>(command));
            Send(tagOnly != "*" && command.Length <= tagOnly.Length + 2 ? $"{tagOnly} BAD Missing command" : "* BAD Missing or malformed tag");
            await CountBadAsync(ct);
            return After.Next;
        }

        string name;
        try
        {
            name = parser.ReadAtom().ToUpperInvariant();
        }
        catch (ImapParseException)
        {
            Send($"{tag} BAD Missing command");
            await CountBadAsync(ct);
            return After.Next;
        }

        var uid = false;
        if (name == "UID")
        {
            try
            {
                parser.Space();
                name = parser.ReadAtom().ToUpperInvariant();
                uid = true;
            }
            catch (ImapParseException)
            {
                Send($"{tag} BAD UID needs a command");
                await CountBadAsync(ct);
                return After.Next;
            }

            if (!Commands.TryGetValue(name, out var prefixed) || !prefixed.Uid)
            {
                Send($"{tag} BAD UID {name} is not a command");
                await CountBadAsync(ct);
                return After.Next;
            }
        }

        if (!Commands.TryGetValue(name, out var known))
        {
            Sealpost.Core.Observability.SealpostMetrics.RecordCommand("imap", MetricName(name, uid), System.Diagnostics.Stopwatch.GetTimestamp());
            return await Fail(tag, "BAD", "Unknown command");
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // IDLE mostly waits; a login takes its turn in CompleteLoginAsync.
        using var running = Authenticated && name != "IDLE" ? _context.Admission.Run() : default;
        try
        {
            // Inside the try: when the store cannot say whether the session stands (an outage), the
            // command answers NO [UNAVAILABLE] like any other that needs the store; the session stays.
            if (Authenticated && name != "LOGOUT" && !await StillStandsAsync(ct))
            {
                // RFC 5530 EXPIRED: access is no longer permitted with what this session logged in with.
                Send(ExpiredBye);
                return After.Stop;
            }

            return await DispatchAsync(tag, known, uid, parser, ct);
        }
        catch (ImapParseException ex)
        {
            Send($"{tag} BAD {OneLine(ex.Message)}");
            await CountBadAsync(ct);
        }
        catch (CommandFailed ex)
        {
            Tagged(tag, "NO", ex.Code, OneLine(ex.Message));
        }
        catch (SealpostException ex)
        {
            if (ex.Kind == ErrorKind.TemporarilyUnavailable)
            {
                // Our side failed (store, disk, audit trail): the operator needs the cause, the client only the code.
                var cause = Sealpost.Core.Logging.FailureCause.Describe(ex);
                ImapLog.CommandUnavailable(_context.Logger, name, ClientAddress, cause);
                Sealpost.Core.Observability.SealpostMetrics.RecordStoreError("imap", cause);
            }

            Tagged(tag, "NO", CodeFor(ex.Kind), OneLine(ex.Message));
        }
        finally
        {
            Sealpost.Core.Observability.SealpostMetrics.RecordCommand("imap", MetricName(name, uid), started);
        }

        return After.Next;
    }

    private static ResponseCode? CodeFor(ErrorKind kind) => kind switch
    {
        ErrorKind.NotFound => ResponseCode.NonExistent,
        ErrorKind.Conflict => ResponseCode.AlreadyExists,
        ErrorKind.Forbidden => ResponseCode.NoPerm,
        ErrorKind.TemporarilyUnavailable => ResponseCode.Unavailable,
        ErrorKind.LimitExceeded => ResponseCode.Limit,
        ErrorKind.InvalidInput => ResponseCode.Cannot,
        _ => null,
    };

    private static string OneLine(string text) => new(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    private async Task CountBadAsync(CancellationToken ct)
    {
        if (++_badCommands >= _context.Imap.MaxBadCommands)
        {
            Send("* BYE Too many bad commands");
            ImapLog.SessionClosed(_context.Logger, ClientAddress, "too many bad commands");
            await FlushAsync(ct);
            throw new SessionEnded();
        }
    }

    private async Task<After> Fail(string tag, string kind, string text)
    {
        Send($"{tag} {kind} {text}");
        if (kind == "BAD")
        {
            await CountBadAsync(CancellationToken.None);
        }

        return After.Next;
    }

    /// <summary>
    /// Turns CONDSTORE on for the session. The first CONDSTORE-enabling command issued with a mailbox
    /// selected tells the client the mailbox's HIGHESTMODSEQ (RFC 7162 §3.1), since its SELECT did not.
    /// </summary>
    private void EnableCondStore()
    {
        if (_condStore)
        {
            return;
        }

        _condStore = true;
        if (_selected is { } view)
        {
            Untagged("OK", ResponseCode.HighestModSeq(Math.Max(1, view.KnownModSeq)), "Highest");
        }
    }

    private void Ok(string tag, string text, ResponseCode? code = null) => Tagged(tag, "OK", code, text);

    /// <summary>A tagged status response (RFC 9051 §7.1): OK, NO or BAD, its code if any, its text.</summary>
    private void Tagged(string tag, string status, ResponseCode? code, string text) => Send($"{tag} {status} {ResponseCode.Bracketed(code)}{text}");

    /// <summary>An untagged status response: OK, NO, BAD, PREAUTH or BYE.</summary>
    private void Untagged(string status, ResponseCode? code, string text) => Send($"* {status} {ResponseCode.Bracketed(code)}{text}");

    // ---- output ----

    /// <summary>A data response, written by <see cref="ResponseWriter"/> for this session's name encoding.</summary>
    private void Send(DataResponse response) => ResponseWriter.Write(Output, response, _utf8);

    private void Send(string line)
    {
        var count = Encoding.UTF8.GetByteCount(line) + 2;
        var span = Output.GetSpan(count);
        var written = Encoding.UTF8.GetBytes(line, span);
        span[written] = (byte)'\r';
        span[written + 1] = (byte)'\n';
        Output.Advance(written + 2);
    }

    private async ValueTask FlushAsync(CancellationToken ct)
    {
        var result = await Output.FlushAsync(ct);
        if (result.IsCompleted)
        {
            throw new SessionEnded();
        }
    }

    /// <summary>The line before a close, after whatever the session had written (one flush sends both).</summary>
    private Task TryLastWordAsync(string line) => _connection.LastWordAsync(line);

    /// <summary>
    /// Waits for the next command; with NOTIFY set, also sends the events that happen meanwhile
    /// (RFC 5465 §3: the client may receive them at any time between commands).
    /// </summary>
    private async ValueTask<ReadResult> ReadCommandInputAsync(CancellationToken ct)
    {
        if (_notify is null || _changes is null)
        {
            return await ReadAsync(ct, betweenCommands: true);
        }

        if (Input.TryRead(out var ready))
        {
            return ready;
        }

        using var timeout = LinkForRead(ct, betweenCommands: true);
        timeout.CancelAfter(ReadLimit());
        var read = Input.ReadAsync(timeout.Token).AsTask();
        while (true)
        {
            if (read.IsCompleted)
            {
                return await read;
            }

            var changed = FeedWaitAsync(ct);
            if (await Task.WhenAny(read, changed) == read || !await changed)
            {
                return await read;
            }

            await DeliverNotificationsAsync(ct);
            await FlushAsync(ct);
        }
    }

    /// <summary>Reads with the session's inactivity timeout: short before login, at least 30 minutes after (RFC 9051 §5.4).</summary>
    private async ValueTask<ReadResult> ReadAsync(CancellationToken ct, bool allowEmpty = false, bool betweenCommands = false)
    {
        if (allowEmpty && Input.TryRead(out var ready))
        {
            return ready;
        }

        using var timeout = LinkForRead(ct, betweenCommands);
        timeout.CancelAfter(ReadLimit());
        return await Input.ReadAsync(timeout.Token);
    }

    private readonly DateTimeOffset _greeted = DateTimeOffset.UtcNow;
    private DateTimeOffset? _commandDeadline; // set when a command's first octets arrive, cleared when it has all arrived

    /// <summary>
    /// How long the next read may wait: the inactivity timeout, cut short by the deadlines that bound a
    /// whole phase rather than one read, so a client sending a byte now and then cannot stay for ever:
    /// the login phase (Imap:PreAuthTimeoutSeconds from the greeting) and a command in flight (Imap:CommandTimeoutSeconds).
    /// </summary>
    private TimeSpan ReadLimit()
    {
        var now = DateTimeOffset.UtcNow;
        var limit = Authenticated ? TimeSpan.FromMinutes(_context.Imap.IdleTimeoutMinutes) : _greeted.AddSeconds(_context.Imap.PreAuthTimeoutSeconds) - now;
        if (_commandDeadline is { } deadline && deadline - now < limit)
        {
            limit = deadline - now;
        }

        return limit > TimeSpan.Zero ? limit : TimeSpan.FromMilliseconds(1);
    }

    private void EndLogin()
    {
        _changes?.Dispose();
        _changes = null;
        CloseGrants();
        _keys?.Dispose();
        _keys = null;
        _mail = null;
        _actor = null;
        if (_account is { } account)
        {
            _context.LeaveAccount(account.Id);
            ImapLog.Logout(_context.Logger, account.Id, ClientAddress);
            _account = null;
        }
    }
}
