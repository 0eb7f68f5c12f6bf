namespace Sealpost.Imap.Protocol;

/// <summary>
/// A value inside a data response, by the data types of RFC 9051 §4: how it is written (atom, number,
/// quoted string or literal, mailbox name, list, NIL) is <see cref="ResponseWriter"/>'s business, so a
/// handler never quotes, escapes or counts literal octets itself.
/// </summary>
public abstract record ImapValue
{
    public static readonly ImapValue Nil = new AtomValue("NIL");

    public static ImapValue Number(ulong value) => new NumberValue(value);

    public static ImapValue Atom(string atom) => new AtomValue(atom);

    /// <summary>An nstring (RFC 9051 §4.5): NIL for null, otherwise quoted or, if it cannot be, a literal.</summary>
    public static ImapValue String(string? value) => value is null ? Nil : new StringValue(value);

    public static ImapValue Mailbox(string name) => new MailboxValue(name);

    public static ImapValue List(params ImapValue[] items) => new ListValue(items);

    public static ImapValue List(IEnumerable<ImapValue> items) => new ListValue(items.ToList());

    /// <summary>Message octets (RFC 9051 §4.3); <paramref name="binary"/>: a literal8 (RFC 3516 §4.3) that may carry NUL.</summary>
    public static ImapValue Literal(ReadOnlyMemory<byte> octets, bool binary = false) => new LiteralValue(octets, binary);

    /// <summary>A value already in IMAP syntax from a pure formatter (ENVELOPE, BODYSTRUCTURE, THREAD, a flag list).</summary>
    public static ImapValue Formatted(string syntax) => new FormattedValue(syntax);
}

public sealed record NumberValue(ulong Value) : ImapValue;

public sealed record AtomValue(string Text) : ImapValue;

public sealed record StringValue(string Value) : ImapValue;

/// <summary>A mailbox name, written as the session's clients expect (modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT).</summary>
public sealed record MailboxValue(string Name) : ImapValue;

public sealed record ListValue(IReadOnlyList<ImapValue> Items) : ImapValue;

public sealed record LiteralValue(ReadOnlyMemory<byte> Octets, bool Binary) : ImapValue;

public sealed record FormattedValue(string Syntax) : ImapValue;

/// <summary>
/// The untagged data responses (RFC 9051 §7.2-7.5, and those of the extensions Sealpost offers) as
/// records: what a handler says, not how it is spelt. <see cref="ResponseWriter"/> writes each.
/// Status responses (OK, NO, BAD, BYE, PREAUTH) carry a <see cref="ResponseCode"/> and stay text.
/// </summary>
public abstract record DataResponse;

/// <summary>CAPABILITY (RFC 9051 §7.2.2).</summary>
public sealed record CapabilityResponse(string Capabilities) : DataResponse;

/// <summary>ENABLED (RFC 5161 §3.2).</summary>
public sealed record EnabledResponse(IReadOnlyList<string> Extensions) : DataResponse;

/// <summary>ID (RFC 2971 §3.2): field and value pairs.</summary>
public sealed record IdResponse(IReadOnlyList<(string Field, string Value)> Fields) : DataResponse;

/// <summary>One namespace (RFC 2342 §5): its prefix and hierarchy delimiter.</summary>
public sealed record Namespace(string Prefix, char Delimiter);

/// <summary>NAMESPACE (RFC 9051 §7.2.3): personal, other users' and shared namespaces; an empty list is NIL.</summary>
public sealed record NamespaceResponse(IReadOnlyList<Namespace> Personal, IReadOnlyList<Namespace> OtherUsers, IReadOnlyList<Namespace> Shared) : DataResponse;

/// <summary>
/// LIST or LSUB (RFC 9051 §7.3.1, RFC 3501 §7.2.3): name attributes, the delimiter, the name, and the
/// extended items of RFC 5258 §9 (CHILDINFO, OLDNAME).
/// </summary>
public sealed record ListResponse(IReadOnlyList<string> Attributes, string Mailbox, IReadOnlyList<(string Tag, ImapValue Value)>? Extended = null, bool Lsub = false) : DataResponse
{
    public const char Delimiter = '/';
}

/// <summary>STATUS (RFC 9051 §7.3.2): the mailbox and the requested items with their values.</summary>
public sealed record StatusResponse(string Mailbox, IReadOnlyList<(string Item, ImapValue Value)> Items) : DataResponse;

/// <summary>FLAGS (RFC 9051 §7.3.5): the flags and keywords defined in the mailbox.</summary>
public sealed record FlagsResponse(IReadOnlyList<string> Flags) : DataResponse;

/// <summary>SEARCH (RFC 3501 §7.2.5) with CONDSTORE's highest MODSEQ of the matches (RFC 7162 §3.1.5).</summary>
public sealed record SearchResponse(IReadOnlyList<uint> Numbers, ulong? ModSeq = null) : DataResponse;

/// <summary>SORT (RFC 5256 §4).</summary>
public sealed record SortResponse(IReadOnlyList<uint> Numbers) : DataResponse;

/// <summary>THREAD (RFC 5256 §4): the thread tree, formatted by <see cref="Threading"/>.</summary>
public sealed record ThreadResponse(string Threads) : DataResponse;

/// <summary>ESEARCH (RFC 4731 §3.1, RFC 9051 §7.3.4): the command's tag, UID or not, and return items.</summary>
public sealed record ESearchResponse(string Tag, bool Uid, IReadOnlyList<(string Item, ImapValue Value)> Results) : DataResponse;

/// <summary>QUOTAROOT (RFC 9208 §5.2).</summary>
public sealed record QuotaRootResponse(string Mailbox, IReadOnlyList<string> Roots) : DataResponse;

/// <summary>QUOTA (RFC 9208 §5.1): a root and its resources' usage and limits.</summary>
public sealed record QuotaResponse(string Root, IReadOnlyList<(string Resource, ulong Usage, ulong Limit)> Resources) : DataResponse;

/// <summary>EXISTS (RFC 9051 §7.4.1).</summary>
public sealed record ExistsResponse(uint Count) : DataResponse;

/// <summary>RECENT (RFC 3501 §7.3.2), for IMAP4rev1 clients.</summary>
public sealed record RecentResponse(uint Count) : DataResponse;

/// <summary>EXPUNGE (RFC 9051 §7.5.1).</summary>
public sealed record ExpungeResponse(uint Sequence) : DataResponse;

/// <summary>VANISHED (RFC 7162 §3.2.10), EARLIER when it answers a command rather than reports news.</summary>
public sealed record VanishedResponse(IReadOnlyList<uint> Uids, bool Earlier) : DataResponse;

/// <summary>FETCH (RFC 9051 §7.5.2): a message's sequence number and its data items, in order.</summary>
public sealed record FetchResponse(uint Sequence, IReadOnlyList<(string Item, ImapValue Value)> Items) : DataResponse;
