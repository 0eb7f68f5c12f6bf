using System.Collections.Frozen;
using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

/// <summary>The states a command is valid in (RFC 9051 §3, §6).</summary>
[Flags]
internal enum ImapStates
{
    NotAuthenticated = 1,
    Authenticated = 2,
    Selected = 4,
    LoggedIn = Authenticated | Selected,
    Any = NotAuthenticated | Authenticated | Selected,
}

public sealed partial class ImapSession
{
    /// <summary>
    /// One row per command: its name, the states it is valid in, whether it takes a UID prefix
    /// (RFC 9051 §6.4.9), its handler (for most, a pure argument parser and the handler of the record it
    /// makes) and the capabilities it adds to CAPABILITY. Dispatch, the
    /// state checks, the metric's command label and the capability list all read this table.
    /// </summary>
    private sealed record ImapCommand(
        string Name,
        ImapStates States,
        Func<ImapSession, string, ImapParser, bool, CancellationToken, Task<After>> Handler,
        bool Uid = false,
        Func<ImapSession, IEnumerable<string>>? Advertises = null);

    private static IEnumerable<string> Always(params string[] capabilities) => capabilities;

    /// <summary>
    /// A row whose arguments a pure parser reads into a record first (Protocol/CommandArguments.cs): the
    /// handler runs only on a command that parsed to its end, so a BAD changes nothing.
    /// </summary>
    private static ImapCommand Parsed<T>(string name, ImapStates states, Func<ImapParser, ArgumentContext, T> parse,
        Func<ImapSession, string, T, bool, CancellationToken, Task<After>> handle, bool Uid = false, Func<ImapSession, IEnumerable<string>>? Advertises = null) =>
        new(name, states, (s, t, p, uid, ct) =>
        {
            var arguments = parse(p, new ArgumentContext(s._utf8, uid));
            p.End();
            return handle(s, t, arguments, uid, ct);
        }, Uid, Advertises);

    private static readonly ImapCommand[] CommandRows =
    [
        // Any state (RFC 9051 §6.1).
        Parsed("CAPABILITY", ImapStates.Any, CommandArguments.None, (s, t, _, _, ct) => s.CapabilityAsync(t, ct)),
        Parsed("NOOP", ImapStates.Any, CommandArguments.None, (s, t, _, _, ct) => s.NoopAsync(t, ct)),
        Parsed("LOGOUT", ImapStates.Any, CommandArguments.None, (s, t, _, _, _) => s.LogoutAsync(t)),
        Parsed("ID", ImapStates.Any, IdArguments.Parse, (s, t, _, _, ct) => s.IdAsync(t, ct), Advertises: _ => Always("ID")), // RFC 2971

        // Not authenticated (§6.2).
        Parsed("STARTTLS", ImapStates.NotAuthenticated, CommandArguments.None, (s, t, _, _, ct) => s.StartTlsAsync(t, ct),
            Advertises: s => s._connection.Tls ? [] : Always("STARTTLS")),
        Parsed("AUTHENTICATE", ImapStates.NotAuthenticated, AuthenticateArguments.Parse, (s, t, a, _, ct) => s.AuthenticateAsync(t, a, ct),
            Advertises: s => s.LoginAllowed ? [.. Sealpost.Domain.Sasl.SaslExchange.Mechanisms.Select(m => "AUTH=" + m), "SASL-IR"] : []), // RFC 4959
        Parsed("LOGIN", ImapStates.NotAuthenticated, LoginArguments.Parse, (s, t, a, _, ct) => s.LoginAsync(t, a, ct),
            Advertises: s => s.LoginAllowed ? [] : Always("LOGINDISABLED")),

        // Authenticated, and so also selected (§6.3).
        Parsed("ENABLE", ImapStates.LoggedIn, EnableArguments.Parse, (s, t, a, _, ct) => s.EnableAsync(t, a, ct), Advertises: _ => Always("ENABLE")), // RFC 5161
        Parsed("SELECT", ImapStates.LoggedIn, SelectArguments.Parse, (s, t, a, _, ct) => s.SelectAsync(t, a, readOnly: false, ct)),
        Parsed("EXAMINE", ImapStates.LoggedIn, SelectArguments.Parse, (s, t, a, _, ct) => s.SelectAsync(t, a, readOnly: true, ct)),
        Parsed("CREATE", ImapStates.LoggedIn, CreateArguments.Parse, (s, t, a, _, ct) => s.CreateAsync(t, a, ct), Advertises: _ => Always("CREATE-SPECIAL-USE")), // RFC 6154
        Parsed("DELETE", ImapStates.LoggedIn, CommandArguments.OneMailbox, (s, t, a, _, ct) => s.DeleteAsync(t, a, ct)),
        Parsed("RENAME", ImapStates.LoggedIn, RenameArguments.Parse, (s, t, a, _, ct) => s.RenameAsync(t, a, ct)),
        Parsed("SUBSCRIBE", ImapStates.LoggedIn, CommandArguments.OneMailbox, (s, t, a, _, ct) => s.SubscribeAsync(t, a, true, ct)),
        Parsed("UNSUBSCRIBE", ImapStates.LoggedIn, CommandArguments.OneMailbox, (s, t, a, _, ct) => s.SubscribeAsync(t, a, false, ct)),
        Parsed("LIST", ImapStates.LoggedIn, ListArguments.Parse, (s, t, a, _, ct) => s.ListAsync(t, a, ct),
            Advertises: _ => Always("CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE")), // RFC 3348, 5258, 5819, 6154
        Parsed("LSUB", ImapStates.LoggedIn, LsubArguments.Parse, (s, t, a, _, ct) => s.LsubAsync(t, a, ct)),
        Parsed("NAMESPACE", ImapStates.LoggedIn, CommandArguments.None, (s, t, _, _, ct) => s.NamespaceAsync(t, ct), Advertises: _ => Always("NAMESPACE")), // RFC 2342
        Parsed("STATUS", ImapStates.LoggedIn, StatusArguments.Parse, (s, t, a, _, ct) => s.StatusAsync(t, a, ct), Advertises: _ => Always("STATUS=SIZE")), // RFC 8438
        Parsed("APPEND", ImapStates.LoggedIn, AppendArguments.Parse, (s, t, a, _, ct) => s.AppendAsync(t, a, ct),
            Advertises: s => Always("MULTIAPPEND", $"APPENDLIMIT={s._context.Imap.AppendLimitBytes}")), // RFC 3502, 7889
        Parsed("IDLE", ImapStates.LoggedIn, CommandArguments.None, (s, t, _, _, ct) => s.IdleAsync(t, ct), Advertises: _ => Always("IDLE")), // RFC 2177
        Parsed("GETQUOTAROOT", ImapStates.LoggedIn, CommandArguments.OneMailbox, (s, t, a, _, ct) => s.GetQuotaRootAsync(t, a, ct), Advertises: _ => Always("QUOTA", "QUOTA=RES-STORAGE")), // RFC 9208
        Parsed("GETQUOTA", ImapStates.LoggedIn, QuotaRootArguments.Parse, (s, t, a, _, ct) => s.GetQuotaAsync(t, a, ct)),
        new("SETQUOTA", ImapStates.LoggedIn, (_, _, _, _, _) => SetQuotaAsync()), // refused whatever its arguments (RFC 9208 §4.1.4)
        Parsed("COMPRESS", ImapStates.LoggedIn, CommandArguments.Mechanism, (s, t, a, _, ct) => s.CompressAsync(t, a, ct),
            Advertises: s => s._connection.Compressed ? [] : Always("COMPRESS=DEFLATE")), // RFC 4978
        Parsed("NOTIFY", ImapStates.LoggedIn, NotifyArguments.Parse, (s, t, a, _, ct) => s.NotifyAsync(t, a, ct), Advertises: _ => Always("NOTIFY")), // RFC 5465

        // Selected (§6.4).
        Parsed("CHECK", ImapStates.Selected, CommandArguments.None, (s, t, _, _, ct) => s.NoopAsync(t, ct)),
        Parsed("CLOSE", ImapStates.Selected, CommandArguments.None, (s, t, _, _, ct) => s.CloseAsync(t, expunge: true, ct)),
        Parsed("UNSELECT", ImapStates.Selected, CommandArguments.None, (s, t, _, _, ct) => s.CloseAsync(t, expunge: false, ct), Advertises: _ => Always("UNSELECT")), // RFC 3691
        Parsed("EXPUNGE", ImapStates.Selected, ExpungeArguments.Parse, (s, t, a, uid, ct) => s.ExpungeAsync(t, a, uid, ct), Uid: true, Advertises: _ => Always("UIDPLUS")), // RFC 4315
        Parsed("SEARCH", ImapStates.Selected, (p, _) => SearchParser.Parse(p), (s, t, a, uid, ct) => s.SearchAsync(t, a, uid, ct), Uid: true,
            Advertises: _ => Always("ESEARCH", "SEARCHRES", "WITHIN")), // RFC 4731, 5182, 5032
        Parsed("FETCH", ImapStates.Selected, FetchArguments.Parse, (s, t, a, uid, ct) => s.FetchAsync(t, a, uid, ct), Uid: true,
            Advertises: _ => Always("BINARY", "PREVIEW")), // RFC 3516, 8970
        Parsed("STORE", ImapStates.Selected, StoreArguments.Parse, (s, t, a, uid, ct) => s.StoreAsync(t, a, uid, ct), Uid: true),
        Parsed("COPY", ImapStates.Selected, CopyArguments.Parse, (s, t, a, uid, ct) => s.CopyAsync(t, a, uid, move: false, ct), Uid: true),
        Parsed("MOVE", ImapStates.Selected, CopyArguments.Parse, (s, t, a, uid, ct) => s.CopyAsync(t, a, uid, move: true, ct), Uid: true, Advertises: _ => Always("MOVE")), // RFC 6851
        Parsed("SORT", ImapStates.Selected, SortArguments.Parse, (s, t, a, uid, ct) => s.SortAsync(t, a, uid, ct), Uid: true,
            Advertises: _ => Always("SORT", "SORT=DISPLAY", "ESORT")), // RFC 5256, 5957, 5267
        Parsed("THREAD", ImapStates.Selected, ThreadArguments.Parse, (s, t, a, uid, ct) => s.ThreadAsync(t, a, uid, ct), Uid: true,
            Advertises: _ => Always("THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES")), // RFC 5256
    ];

    private static readonly FrozenDictionary<string, ImapCommand> Commands = CommandRows.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>
    /// Extensions that change how existing commands behave rather than adding one of their own
    /// (RFC 7888 LITERAL+, RFC 6855 UTF8=ACCEPT, RFC 7162 CONDSTORE/QRESYNC, RFC 8474 OBJECTID).
    /// </summary>
    private static readonly string[] BehaviourExtensions = ["LITERAL+", "UTF8=ACCEPT", "CONDSTORE", "QRESYNC", "OBJECTID"];

    /// <summary>What CAPABILITY says now: login capabilities before login, then every extension in effect.</summary>
    private string Capabilities()
    {
        var caps = new List<string> { "IMAP4rev1", "IMAP4rev2" };
        if (!Authenticated)
        {
            AddAdvertised(caps, c => c.States == ImapStates.NotAuthenticated);
        }

        caps.AddRange(BehaviourExtensions);
        AddAdvertised(caps, c => c.States != ImapStates.NotAuthenticated);
        return string.Join(' ', caps);
    }

    private void AddAdvertised(List<string> caps, Func<ImapCommand, bool> which)
    {
        foreach (var command in CommandRows.Where(which))
        {
            if (command.Advertises is { } advertises)
            {
                caps.AddRange(advertises(this));
            }
        }
    }

    /// <summary>The state check, then the handler: an unknown command, or one given in the wrong state, is BAD.</summary>
    private Task<After> DispatchAsync(string tag, ImapCommand command, bool uid, ImapParser p, CancellationToken ct)
    {
        var state = !Authenticated ? ImapStates.NotAuthenticated : _selected is null ? ImapStates.Authenticated : ImapStates.Selected;
        if ((command.States & state) == 0)
        {
            return Fail(tag, "BAD", state switch
            {
                ImapStates.NotAuthenticated => "Log in first",
                _ when command.States == ImapStates.NotAuthenticated => "Already authenticated",
                _ => "No mailbox selected",
            });
        }

        return command.Handler(this, tag, p, uid, ct);
    }

    /// <summary>A command's name as a metric label: a bounded set (what the table does not know is "other").</summary>
    private static string MetricName(string name, bool uid) =>
        !Commands.ContainsKey(name) ? "other" : uid ? "UID " + name : name;
}
