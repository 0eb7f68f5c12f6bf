using Sealpost.Core.Mail;
using Sealpost.Imap;

namespace Sealpost.Imap.Protocol;

/// <summary>
/// What a command's grammar depends on besides its octets: whether UTF8=ACCEPT is on (RFC 6855 §3: 8-bit
/// in quoted strings) and whether the command came with the UID prefix.
/// </summary>
public readonly record struct ArgumentContext(bool Utf8, bool Uid);

/// <summary>A mailbox name as the client wrote it (the astring's octets); the session decodes it, and a name that does not decode is NO, not BAD.</summary>
public readonly record struct MailboxArgument(byte[] Octets);

/// <summary>
/// The arguments of commands, parsed by pure functions (octets in, a record or <see cref="ImapParseException"/>
/// out) before a handler runs: a command that does not parse changes nothing, not even a session's
/// enabled extensions. Each parser reads from just after the command name through the end of the line.
/// </summary>
public static class CommandArguments
{
    public static MailboxArgument Mailbox(ImapParser p, ArgumentContext c) => new(p.ReadAStringBytes(c.Utf8));

    /// <summary>DELETE, SUBSCRIBE, UNSUBSCRIBE: one mailbox.</summary>
    public static MailboxArgument OneMailbox(ImapParser p, ArgumentContext c)
    {
        p.Space();
        return Mailbox(p, c);
    }

    /// <summary>Commands that take nothing.</summary>
    public static bool None(ImapParser p, ArgumentContext c) => true;

    /// <summary>RFC 4978 COMPRESS: the mechanism's name.</summary>
    public static string Mechanism(ImapParser p, ArgumentContext c)
    {
        p.Space();
        return p.ReadAtom();
    }
}

/// <summary>RFC 9051 §6.3.5 RENAME.</summary>
public sealed record RenameArguments(MailboxArgument From, MailboxArgument To)
{
    public static RenameArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var from = CommandArguments.Mailbox(p, c);
        p.Space();
        return new(from, CommandArguments.Mailbox(p, c));
    }
}

/// <summary>RFC 9051 §6.3.4 CREATE, with RFC 6154 §3 USE.</summary>
public sealed record CreateArguments(MailboxArgument Mailbox, IReadOnlyList<string> Uses)
{
    public static CreateArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var name = CommandArguments.Mailbox(p, c);
        List<string> uses = [];
        if (p.TrySpace())
        {
            p.Expect('(');
            if (!p.TryKeyword("USE"))
            {
                throw new ImapParseException("Unknown CREATE parameter");
            }

            p.Space();
            uses = p.ReadFlagList();
            p.Expect(')');
        }

        return new(name, uses);
    }
}

/// <summary>The parameters of SELECT/EXAMINE's QRESYNC (RFC 7162 §3.2.5).</summary>
public sealed record QresyncParameters(uint UidValidity, long ModSeq, SequenceSet? KnownUids);

/// <summary>RFC 9051 §6.3.2 SELECT / §6.3.3 EXAMINE, with CONDSTORE (RFC 7162 §3.1.8) and QRESYNC (§3.2.5).</summary>
public sealed record SelectArguments(MailboxArgument Mailbox, bool CondStore, QresyncParameters? Qresync)
{
    public static SelectArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var name = CommandArguments.Mailbox(p, c);
        var condStore = false;
        QresyncParameters? qresync = null;
        if (p.TrySpace())
        {
            p.Expect('(');
            do
            {
                if (p.TryKeyword("CONDSTORE"))
                {
                    condStore = true;
                }
                else if (p.TryKeyword("QRESYNC"))
                {
                    p.Space();
                    p.Expect('(');
                    var validity = p.ReadNzNumber();
                    p.Space();
                    var modseq = (long)p.ReadNumber64();
                    SequenceSet? known = null;
                    if (p.TrySpace() && !p.PeekIs('('))
                    {
                        known = p.ReadSequenceSet();
                        p.TrySpace();
                    }

                    if (p.TryTake('('))
                    {
                        // The sequence-match data only helps a server without a change log; ours has one.
                        p.ReadSequenceSet();
                        p.Space();
                        p.ReadSequenceSet();
                        p.Expect(')');
                    }

                    p.Expect(')');
                    qresync = new QresyncParameters(validity, modseq, known);
                }
                else
                {
                    throw new ImapParseException("Unknown SELECT parameter");
                }
            }
            while (p.TrySpace());
            p.Expect(')');
        }

        return new(name, condStore, qresync);
    }
}

/// <summary>RFC 9051 §6.3.11 STATUS items, shared with LIST's RETURN (STATUS ...) (RFC 5819).</summary>
public static class StatusItems
{
    public static readonly IReadOnlySet<string> Names =
        new HashSet<string> { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID" };

    public static List<string> Parse(ImapParser p)
    {
        var items = new List<string>();
        p.ReadOptionList(item => items.Add(Names.Contains(item) ? item : throw new ImapParseException("Unknown STATUS item " + item)));

        if (items.Count == 0)
        {
            throw new ImapParseException("STATUS needs at least one item");
        }

        return items;
    }
}

/// <summary>RFC 9051 §6.3.11 STATUS.</summary>
public sealed record StatusArguments(MailboxArgument Mailbox, IReadOnlyList<string> Items)
{
    public static StatusArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var name = CommandArguments.Mailbox(p, c);
        p.Space();
        return new(name, StatusItems.Parse(p));
    }
}

/// <summary>RFC 5161 ENABLE: the capability names, upper-cased.</summary>
public sealed record EnableArguments(IReadOnlyList<string> Names)
{
    public static EnableArguments Parse(ImapParser p, ArgumentContext c)
    {
        var names = new List<string>();
        while (p.TrySpace())
        {
            names.Add(p.ReadAtom().ToUpperInvariant());
        }

        return names.Count == 0 ? throw new ImapParseException("ENABLE needs at least one capability") : new(names);
    }
}

/// <summary>RFC 9051 §6.4.7 COPY, RFC 6851 MOVE (and their UID forms).</summary>
public sealed record CopyArguments(SequenceSet Set, MailboxArgument Mailbox)
{
    public static CopyArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var set = p.ReadSequenceSet();
        p.Space();
        return new(set, CommandArguments.Mailbox(p, c));
    }
}

/// <summary>RFC 9051 §6.4.3 EXPUNGE; UID EXPUNGE (RFC 4315 §2.1) takes the UIDs to expunge.</summary>
public sealed record ExpungeArguments(SequenceSet? Uids)
{
    public static ExpungeArguments Parse(ImapParser p, ArgumentContext c)
    {
        if (!c.Uid)
        {
            return new((SequenceSet?)null);
        }

        p.Space();
        return new(p.ReadSequenceSet());
    }
}

/// <summary>
/// RFC 9051 §6.4.6 STORE with UNCHANGEDSINCE (RFC 7162 §3.1.3): the flags are sorted into system flags
/// and keywords here, so an unknown system flag is BAD before anything happens. \Recent is dropped
/// (RFC 3501 §2.3.2: a client cannot set it).
/// </summary>
public sealed record StoreArguments(SequenceSet Set, long? UnchangedSince, FlagOperation Operation, bool Silent, MessageFlags System, IReadOnlyList<string> Keywords)
{
    public static StoreArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var set = p.ReadSequenceSet();
        p.Space();
        long? unchangedSince = null;
        if (p.TryTake('('))
        {
            if (!p.TryKeyword("UNCHANGEDSINCE"))
            {
                throw new ImapParseException("Unknown STORE modifier");
            }

            p.Space();
            unchangedSince = (long)p.ReadNumber64();
            p.Expect(')');
            p.Space();
        }

        var operation = p.TryTake('+') ? FlagOperation.Add : p.TryTake('-') ? FlagOperation.Remove : FlagOperation.Replace;
        var item = p.ReadAtom().ToUpperInvariant();
        if (item is not ("FLAGS" or "FLAGS.SILENT"))
        {
            throw new ImapParseException("STORE takes FLAGS or FLAGS.SILENT");
        }

        p.Space();
        List<string> names;
        if (p.PeekIs('('))
        {
            names = p.ReadFlagList();
        }
        else
        {
            names = [p.ReadFlag()];
            while (p.TrySpace())
            {
                names.Add(p.ReadFlag());
            }
        }

        var (system, keywords) = Classify(names);
        return new(set, unchangedSince, operation, item == "FLAGS.SILENT", system, keywords);
    }

    /// <summary>System flags (an unknown one is BAD) and keywords; \Recent is left out.</summary>
    public static (MessageFlags System, List<string> Keywords) Classify(IEnumerable<string> names)
    {
        var system = MessageFlags.None;
        var keywords = new List<string>();
        foreach (var name in names)
        {
            if (!name.StartsWith('\\'))
            {
                keywords.Add(name);
            }
            else if (!name.Equals("\\Recent", StringComparison.OrdinalIgnoreCase))
            {
                system |= Flags.Parse(name) ?? throw new ImapParseException("Unknown system flag " + name);
            }
        }

        return (system, keywords);
    }
}

/// <summary>One message of an APPEND: its flags, date, octets and whether it came as literal8 (RFC 3516).</summary>
public sealed record AppendMessage(MessageFlags Flags, IReadOnlyList<string> Keywords, DateTimeOffset Date, ReadOnlyMemory<byte> Content, bool Binary);

/// <summary>RFC 9051 §6.3.12 APPEND with MULTIAPPEND (RFC 3502), literal8 (RFC 3516) and the UTF8 data item (RFC 6855 §4).</summary>
public sealed record AppendArguments(MailboxArgument Mailbox, IReadOnlyList<AppendMessage> Messages)
{
    public static AppendArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var name = CommandArguments.Mailbox(p, c);
        var now = DateTimeOffset.UtcNow;
        var messages = new List<AppendMessage>();
        while (p.TrySpace())
        {
            var flags = MessageFlags.None;
            IReadOnlyList<string> keywords = [];
            if (p.PeekIs('('))
            {
                (flags, keywords) = StoreArguments.Classify(p.ReadFlagList());
                p.Space();
            }

            var date = now;
            if (p.PeekIs('"'))
            {
                date = p.ReadDateTime();
                p.Space();
            }

            ReadOnlyMemory<byte> content;
            var binary = false;
            if (p.TryKeyword("UTF8"))
            {
                p.Space();
                p.Expect('(');
                if (!p.PeekIs('~'))
                {
                    throw new ImapParseException("UTF8 takes a literal8");
                }

                content = p.ReadLiteral();
                p.Expect(')');
            }
            else if (p.PeekLiteral)
            {
                binary = p.PeekIs('~'); // literal8: binary content, kept octet for octet (RFC 3516 §4.4)
                content = p.ReadLiteral();
            }
            else
            {
                throw new ImapParseException("APPEND needs the message as a literal");
            }

            messages.Add(new AppendMessage(flags, keywords, date, content, binary));
        }

        return messages.Count == 0 ? throw new ImapParseException("APPEND needs a message") : new(name, messages);
    }
}

/// <summary>RFC 9051 §6.4.5 FETCH with CHANGEDSINCE (RFC 7162 §3.1.4) and VANISHED (§3.2.6), in either order.</summary>
public sealed record FetchArguments(SequenceSet Set, List<FetchItem> Items, long? ChangedSince, bool Vanished)
{
    public static FetchArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var set = p.ReadSequenceSet();
        p.Space();
        var items = FetchAttributes.Parse(p);
        long? changedSince = null;
        var vanished = false;
        if (p.TrySpace())
        {
            p.Expect('(');
            do
            {
                if (p.TryKeyword("CHANGEDSINCE"))
                {
                    p.Space();
                    changedSince = (long)p.ReadNumber64();
                }
                else if (p.TryKeyword("VANISHED"))
                {
                    vanished = true;
                }
                else
                {
                    throw new ImapParseException("Unknown FETCH modifier");
                }
            }
            while (p.TrySpace());
            p.Expect(')');
        }

        return new(set, items, changedSince, vanished);
    }
}

/// <summary>A sort key of RFC 5256 §3 and RFC 5957 (DISPLAYFROM, DISPLAYTO).</summary>
public enum SortField { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo }

/// <summary>
/// RFC 5256 §3 SORT with ESORT's RETURN (RFC 5267): the charset is required there, and checked by the
/// session (an unknown one is NO [BADCHARSET], not BAD).
/// </summary>
public sealed record SortArguments(SearchReturn Return, (int First, int Last)? Partial, bool Extended, IReadOnlyList<(SortField Field, bool Reverse)> Criteria, string Charset, SearchKey Key)
{
    public static SortArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var ret = SearchReturn.None;
        (int First, int Last)? partial = null;
        var extended = false;
        if (p.TryKeyword("RETURN"))
        {
            extended = true;
            p.Space();
            (ret, partial) = SearchParser.ParseReturn(p);
            p.Space();
        }

        var criteria = new List<(SortField Field, bool Reverse)>();
        p.Expect('(');
        do
        {
            var reverse = p.TryKeyword("REVERSE");
            if (reverse)
            {
                p.Space();
            }

            var field = p.ReadAtom().ToUpperInvariant() switch
            {
                "ARRIVAL" => SortField.Arrival,
                "CC" => SortField.Cc,
                "DATE" => SortField.Date,
                "FROM" => SortField.From,
                "SIZE" => SortField.Size,
                "SUBJECT" => SortField.Subject,
                "TO" => SortField.To,
                "DISPLAYFROM" => SortField.DisplayFrom,
                "DISPLAYTO" => SortField.DisplayTo,
                _ => throw new ImapParseException("Unknown sort key"),
            };
            criteria.Add((field, reverse));
        }
        while (p.TrySpace());
        p.Expect(')');
        var (charset, key) = CharsetAndCriteria(p);
        return new(ret, partial, extended, criteria, charset, key);
    }

    /// <summary>SORT and THREAD (RFC 5256 §3): SP charset SP search-criteria, the charset required, not optional.</summary>
    public static (string Charset, SearchKey Key) CharsetAndCriteria(ImapParser p)
    {
        p.Space();
        var charset = p.ReadAString().ToUpperInvariant();
        p.Space();
        return (charset, SearchParser.ParseCriteria(p));
    }
}

/// <summary>RFC 5256 §4 THREAD.</summary>
public sealed record ThreadArguments(string Algorithm, string Charset, SearchKey Key)
{
    public static ThreadArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var algorithm = p.ReadAtom().ToUpperInvariant();
        if (algorithm is not ("REFERENCES" or "ORDEREDSUBJECT"))
        {
            throw new ImapParseException("Unknown threading algorithm");
        }

        var (charset, key) = SortArguments.CharsetAndCriteria(p);
        return new(algorithm, charset, key);
    }
}

/// <summary>
/// RFC 9051 §6.3.9 LIST with LIST-EXTENDED (RFC 5258) selection and return options, LIST-STATUS
/// (RFC 5819) and SPECIAL-USE (RFC 6154). Reference and patterns stay octets: the session decodes them.
/// </summary>
public sealed record ListArguments(
    bool SelectSubscribed, bool SelectSpecialUse, bool RecursiveMatch, byte[] Reference, IReadOnlyList<byte[]> Patterns,
    bool ReturnSubscribed, bool ReturnSpecialUse, IReadOnlyList<string>? StatusItems)
{
    public static ListArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var selectSubscribed = false;
        var selectSpecialUse = false;
        var recursiveMatch = false;
        if (p.PeekIs('('))
        {
            p.ReadOptionList(option =>
            {
                switch (option)
                {
                    case "SUBSCRIBED": selectSubscribed = true; break;
                    case "REMOTE": break; // no remote mailboxes here (RFC 5258 §3.1)
                    case "RECURSIVEMATCH": recursiveMatch = true; break;
                    case "SPECIAL-USE": selectSpecialUse = true; break;
                    default: throw new ImapParseException("Unknown LIST selection option");
                }
            });
            p.Space();
            if (recursiveMatch && !selectSubscribed)
            {
                // RFC 5258 §3: RECURSIVEMATCH alone is an error.
                throw new ImapParseException("RECURSIVEMATCH needs another selection option");
            }
        }

        var reference = p.ReadAStringBytes(c.Utf8);
        p.Space();
        var patterns = new List<byte[]>();
        if (p.TryTake('('))
        {
            do
            {
                patterns.Add(p.ReadListMailbox(c.Utf8));
            }
            while (p.TrySpace());
            p.Expect(')');
        }
        else
        {
            patterns.Add(p.ReadListMailbox(c.Utf8));
        }

        var returnSubscribed = selectSubscribed;
        var returnSpecialUse = true;
        List<string>? statusItems = null;
        if (p.TrySpace())
        {
            if (!p.TryKeyword("RETURN"))
            {
                throw new ImapParseException("Expected RETURN");
            }

            p.Space();
            p.ReadOptionList(option =>
            {
                switch (option)
                {
                    case "SUBSCRIBED": returnSubscribed = true; break;
                    case "CHILDREN": break; // always returned
                    case "SPECIAL-USE": returnSpecialUse = true; break;
                    case "STATUS":
                        p.Space();
                        statusItems = Protocol.StatusItems.Parse(p);
                        break;
                    default: throw new ImapParseException("Unknown LIST return option");
                }
            });
        }

        return new(selectSubscribed, selectSpecialUse, recursiveMatch, reference, patterns, returnSubscribed, returnSpecialUse, statusItems);
    }
}

/// <summary>RFC 3501 §6.3.9 LSUB: a reference and one pattern, as octets.</summary>
public sealed record LsubArguments(byte[] Reference, byte[] Pattern)
{
    public static LsubArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var reference = p.ReadAStringBytes(c.Utf8);
        p.Space();
        return new(reference, p.ReadListMailbox(c.Utf8));
    }
}

/// <summary>RFC 9051 §6.2.3 LOGIN.</summary>
public sealed record LoginArguments(string User, string Password)
{
    public static LoginArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var user = p.ReadAString();
        p.Space();
        return new(user, p.ReadAString());
    }

    /// <summary>Never the password, should a record be printed.</summary>
    public override string ToString() => $"LoginArguments {{ User = {User} }}";
}

/// <summary>RFC 9051 §6.2.2 AUTHENTICATE with SASL-IR's initial response (RFC 4959).</summary>
public sealed record AuthenticateArguments(string Mechanism, string? InitialResponse)
{
    public static AuthenticateArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        var mechanism = p.ReadAtom().ToUpperInvariant();
        return new(mechanism, p.TrySpace() ? p.ReadRestOfLine() : null);
    }

    /// <summary>Never the initial response (it carries the password).</summary>
    public override string ToString() => $"AuthenticateArguments {{ Mechanism = {Mechanism} }}";
}

/// <summary>RFC 9208 §4.1.1 GETQUOTA: a quota root name.</summary>
public sealed record QuotaRootArguments(string Root)
{
    public static QuotaRootArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        return new(p.ReadAString());
    }
}

/// <summary>RFC 2971 ID: the client's fields are read (at most 30 pairs, keys at most 30 octets, §3.3) and not kept.</summary>
public static class IdArguments
{
    public static bool Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        if (p.TryKeyword("NIL"))
        {
            return true;
        }

        p.Expect('(');
        var fields = 0;
        while (!p.TryTake(')'))
        {
            if (fields > 0)
            {
                p.Space();
            }

            var key = p.ReadString();
            p.Space();
            _ = p.ReadNString();
            if (++fields > 30 || key.Length > 30)
            {
                throw new ImapParseException("Too many or too long ID fields");
            }
        }

        return true;
    }
}

/// <summary>The events of RFC 5465 §5 this server reports.</summary>
[Flags]
public enum NotifyEvents { None = 0, MessageNew = 1, MessageExpunge = 2, FlagChange = 4, MailboxName = 8, SubscriptionChange = 16 }

/// <summary>The filters of RFC 5465 §6.</summary>
public enum NotifyScope { Selected, SelectedDelayed, Inboxes, Personal, Subscribed, Subtree, Mailboxes }

/// <summary>One event group: a filter, the mailboxes it names (as octets), its events and MessageNew's fetch attributes.</summary>
public sealed record NotifyGroupArguments(NotifyScope Scope, IReadOnlyList<MailboxArgument> Names, NotifyEvents Events, List<FetchItem>? NewMessageItems);

/// <summary>
/// RFC 5465 NOTIFY: NONE, or SET [STATUS] with event groups. An event this server does not report is
/// kept in <see cref="UnsupportedEvent"/>: the session answers it NO [BADEVENT] (§5), not BAD.
/// </summary>
public sealed record NotifyArguments(bool None, bool SendStatus, IReadOnlyList<NotifyGroupArguments> Groups, string? UnsupportedEvent)
{
    public static NotifyArguments Parse(ImapParser p, ArgumentContext c)
    {
        p.Space();
        if (p.TryKeyword("NONE"))
        {
            return new(true, false, [], null);
        }

        if (!p.TryKeyword("SET"))
        {
            throw new ImapParseException("NOTIFY takes SET or NONE");
        }

        p.Space();
        var sendStatus = false;
        if (p.TryKeyword("STATUS"))
        {
            sendStatus = true;
            p.Space();
        }

        var groups = new List<NotifyGroupArguments>();
        string? unsupported = null;
        do
        {
            groups.Add(Group(p, c, ref unsupported));
        }
        while (p.TrySpace());
        if (groups.Count(g => g.Scope is NotifyScope.Selected or NotifyScope.SelectedDelayed) > 1)
        {
            throw new ImapParseException("SELECTED may appear once");
        }

        return new(false, sendStatus, groups, unsupported);
    }

    private static NotifyGroupArguments Group(ImapParser p, ArgumentContext c, ref string? unsupported)
    {
        p.Expect('(');
        var scopeWord = p.ReadAtom().ToUpperInvariant();
        var names = new List<MailboxArgument>();
        var scope = scopeWord switch
        {
            "SELECTED" => NotifyScope.Selected,
            "SELECTED-DELAYED" => NotifyScope.SelectedDelayed,
            "INBOXES" => NotifyScope.Inboxes,
            "PERSONAL" => NotifyScope.Personal,
            "SUBSCRIBED" => NotifyScope.Subscribed,
            "SUBTREE" => NotifyScope.Subtree,
            "MAILBOXES" => NotifyScope.Mailboxes,
            _ => throw new ImapParseException("Unknown NOTIFY filter " + scopeWord),
        };
        if (scope is NotifyScope.Subtree or NotifyScope.Mailboxes)
        {
            p.Space();
            if (p.TryTake('('))
            {
                do
                {
                    names.Add(CommandArguments.Mailbox(p, c));
                }
                while (p.TrySpace());
                p.Expect(')');
            }
            else
            {
                names.Add(CommandArguments.Mailbox(p, c));
            }
        }

        p.Space();
        var events = NotifyEvents.None;
        List<FetchItem>? items = null;
        if (!p.TryKeyword("NONE"))
        {
            p.Expect('(');
            do
            {
                var word = p.ReadAtom();
                switch (word.ToUpperInvariant())
                {
                    case "MESSAGENEW":
                        events |= NotifyEvents.MessageNew;
                        if (p.PeekSpaceThen('('))
                        {
                            // Optional fetch attributes, only meaningful for the selected mailbox.
                            p.Space();
                            var parsed = FetchAttributes.Parse(p);
                            if (scope is NotifyScope.Selected or NotifyScope.SelectedDelayed)
                            {
                                items = parsed;
                            }
                        }

                        break;
                    case "MESSAGEEXPUNGE": events |= NotifyEvents.MessageExpunge; break;
                    case "FLAGCHANGE": events |= NotifyEvents.FlagChange; break;
                    case "MAILBOXNAME": events |= NotifyEvents.MailboxName; break;
                    case "SUBSCRIPTIONCHANGE": events |= NotifyEvents.SubscriptionChange; break;
                    default:
                        unsupported ??= word;
                        break;
                }
            }
            while (p.TrySpace());
            p.Expect(')');
        }

        p.Expect(')');
        // RFC 5465 §5: MessageNew and MessageExpunge go together, and FlagChange needs both.
        var messageEvents = events & (NotifyEvents.MessageNew | NotifyEvents.MessageExpunge);
        if (unsupported is null && ((messageEvents != NotifyEvents.None && messageEvents != (NotifyEvents.MessageNew | NotifyEvents.MessageExpunge))
            || (events.HasFlag(NotifyEvents.FlagChange) && messageEvents == NotifyEvents.None)))
        {
            throw new ImapParseException("MessageNew and MessageExpunge must be given together, and FlagChange needs them");
        }

        if (scope is NotifyScope.Selected or NotifyScope.SelectedDelayed && (events & (NotifyEvents.MailboxName | NotifyEvents.SubscriptionChange)) != NotifyEvents.None)
        {
            throw new ImapParseException("Mailbox events do not apply to SELECTED");
        }

        return new NotifyGroupArguments(scope, names, events, items);
    }
}
