namespace Sealpost.Core.Mail;

/// <summary>
/// Special-use roles (RFC 6154). Delivery finds Inbox and Junk by role, never by name, so it works
/// while folder names are sealed and the owner is offline.
/// </summary>
public enum MailboxRole
{
    None = 0,
    Inbox = 1,
    Sent = 2,
    Drafts = 3,
    Trash = 4,
    Junk = 5,
    Archive = 6,
}

/// <summary>System flags (RFC 9051 §2.3.2). \Recent is a session property and not stored.</summary>
[Flags]
public enum MessageFlags
{
    None = 0,
    Seen = 1,
    Answered = 2,
    Flagged = 4,
    Deleted = 8,
    Draft = 16,
}

/// <summary>
/// A mailbox row. <see cref="SealedName"/> is opaque to the store and <see cref="NameKey"/> is the
/// lookup key the mailbox service derives; the store never interprets either.
/// </summary>
public sealed record Mailbox(
    long Id,
    long AccountId,
    long ParentId,
    byte[] NameKey,
    byte[] SealedName,
    MailboxRole Role,
    uint UidValidity,
    uint UidNext,
    long HighestModSeq,
    int MessageCount,
    long TotalSize,
    bool Subscribed,
    uint FirstRecentUid = 1);

/// <summary>A message as the store keeps it: pointers and flags, never content.</summary>
public sealed record MessageRecord(
    long MailboxId,
    uint Uid,
    long BlobId,
    MessageFlags Flags,
    IReadOnlyList<int> KeywordIds,
    DateTimeOffset InternalDate,
    long Size,
    long ModSeq,
    byte[]? WrappedKey);

/// <summary>Content to store once, however many mailboxes receive it.</summary>
public sealed class NewBlob(Stream content, long length, byte[]? metadata = null, byte[]? bytes = null, long? contentLength = null)
{
    /// <summary>Read once, from its current position, exactly <see cref="Length"/> bytes.</summary>
    public Stream Content { get; } = content;
    public long Length { get; } = length;

    /// <summary>
    /// The octets of the message the blob holds, as a client sees them (RFC 9051 RFC822.SIZE: the exact
    /// size of BODY[]); a sealed blob is longer than its message. Message sizes, mailbox totals and
    /// quota usage count this, not the blob.
    /// </summary>
    public long ContentLength { get; } = contentLength ?? length;
    /// <summary>Parsed metadata stored with the blob (sealed once storage is sealed).</summary>
    public byte[]? Metadata { get; } = metadata;

    /// <summary>The whole content as one array when it was made from one (a store may take it without copying).</summary>
    public byte[]? Bytes { get; } = bytes;

    public static NewBlob FromBytes(byte[] bytes, byte[]? metadata = null, long? contentLength = null) =>
        new(new MemoryStream(bytes, writable: false), bytes.Length, metadata, bytes, contentLength);
}

/// <summary>One copy of a message into one mailbox.</summary>
public sealed record NewMessage(
    long MailboxId,
    MessageFlags Flags,
    IReadOnlyList<int> KeywordIds,
    DateTimeOffset InternalDate,
    byte[]? WrappedKey = null);

/// <summary>Where an appended message landed.</summary>
public readonly record struct AppendResult(long MailboxId, uint Uid, long ModSeq, long BlobId);

public enum FlagOperation
{
    Add,
    Remove,
    Replace,
}

/// <summary>A flag/keyword change request (IMAP STORE, JMAP Email/set).</summary>
public sealed record FlagChange(FlagOperation Operation, MessageFlags Flags, IReadOnlyList<int> KeywordIds, long? UnchangedSince = null)
{
    /// <summary>The flags and (sorted, distinct) keywords a message has after this change. Every store applies it the same way.</summary>
    public (MessageFlags Flags, int[] KeywordIds) ApplyTo(MessageFlags flags, IReadOnlyList<int> keywordIds) => Operation switch
    {
        FlagOperation.Add => (flags | Flags, keywordIds.Union(KeywordIds).Order().ToArray()),
        FlagOperation.Remove => (flags & ~Flags, keywordIds.Except(KeywordIds).Order().ToArray()),
        _ => (Flags, KeywordIds.Distinct().Order().ToArray()),
    };

    /// <summary>
    /// Which messages this change really alters (and to what), and which it must refuse because they
    /// changed after <see cref="UnchangedSince"/> (RFC 7162 §3.1.3). A message whose flags would not
    /// change is in neither list: it gets no new MODSEQ. Every store plans the same way.
    /// </summary>
    public (List<(MessageRecord Message, MessageFlags Flags, int[] KeywordIds)> Changed, List<uint> Refused) Plan(IEnumerable<MessageRecord> messages)
    {
        var changed = new List<(MessageRecord, MessageFlags, int[])>();
        var refused = new List<uint>();
        foreach (var m in messages)
        {
            if (UnchangedSince is { } since && m.ModSeq > since)
            {
                refused.Add(m.Uid);
                continue;
            }

            var (flags, keywords) = ApplyTo(m.Flags, m.KeywordIds);
            if (flags != m.Flags || !keywords.SequenceEqual(m.KeywordIds))
            {
                changed.Add((m, flags, keywords));
            }
        }

        return (changed, refused);
    }
}

/// <summary>The state of one message after a flag change.</summary>
public readonly record struct FlagUpdate(uint Uid, MessageFlags Flags, IReadOnlyList<int> KeywordIds, long ModSeq);

/// <summary>
/// What a flag change did: the messages it changed (<see cref="Updated"/>), those whose MODSEQ was past
/// UNCHANGEDSINCE, and <see cref="Named"/>, the named messages that exist as they were before it, in the
/// order <see cref="Updated"/> follows. <see cref="Current"/> combines the two: what a STORE without
/// .SILENT answers with, so it needs no second read (RFC 9051 §6.4.6); it is worked out by whoever asks,
/// not inside the store's write.
/// </summary>
public sealed record FlagChangeResult(IReadOnlyList<FlagUpdate> Updated, IReadOnlyList<uint> FailedUnchangedSince, long HighestModSeq, IReadOnlyList<MessageRecord> Named)
{
    /// <summary>Every named message that exists, ascending by UID: its update where this change made one, else as it was (refused ones too).</summary>
    public List<FlagUpdate> Current()
    {
        var state = new List<FlagUpdate>(Named.Count);
        var next = 0; // Updated is a subsequence of the named messages, in their order
        foreach (var m in Named)
        {
            if (next < Updated.Count && Updated[next].Uid == m.Uid)
            {
                state.Add(Updated[next++]);
            }
            else
            {
                state.Add(new FlagUpdate(m.Uid, m.Flags, m.KeywordIds, m.ModSeq));
            }
        }

        state.Sort((a, b) => a.Uid.CompareTo(b.Uid));
        return state;
    }
}

public sealed record ExpungeResult(IReadOnlyList<uint> ExpungedUids, long ModSeq);

public sealed record CopyResult(IReadOnlyList<uint> SourceUids, IReadOnlyList<uint> DestinationUids, uint DestinationUidValidity);

/// <summary>
/// What changed in a mailbox since a MODSEQ: the current state of every message whose MODSEQ is
/// higher, and the UIDs expunged since. This is what QRESYNC and JMAP Email/changes read.
/// </summary>
/// <para><see cref="PrunedModSeq"/>: expunges at or below this MODSEQ were pruned from the log (by the
/// retention); when <see cref="SinceModSeq"/> is below it, <see cref="Expunged"/> is incomplete and a
/// caller must treat every UID it knows that no longer exists as expunged.</para>
public sealed record ChangeSet(long MailboxId, long SinceModSeq, long HighestModSeq, IReadOnlyList<MessageRecord> Changed, IReadOnlyList<uint> Expunged, long PrunedModSeq = 0)
{
    public bool IsComplete => SinceModSeq >= PrunedModSeq;
}

/// <summary>A keyword of an account (sealed name plus lookup key, like folder names).</summary>
public sealed record Keyword(int Id, long AccountId, byte[] NameKey, byte[] SealedName);

public readonly record struct QuotaUsage(long Bytes, long Messages);

/// <summary>Counts from an orphan sweep.</summary>
public readonly record struct SweepResult(int BlobRowsRemoved, int FilesRemoved);

/// <summary>An inclusive UID range.</summary>
public readonly record struct UidRange(uint First, uint Last)
{
    public static UidRange All => new(1, uint.MaxValue);
    public bool Contains(uint uid) => uid >= First && uid <= Last;
}

/// <summary>A subscription to a name that has no mailbox: its lookup key and the name sealed under the account key.</summary>
public sealed record DetachedSubscription(byte[] NameKey, byte[] SealedName)
{
    /// <summary>What a full mailbox name's lookup key is taken over (apart from the per-level keys of mailbox rows).</summary>
    public static string LookupName(string path) => "subscription:" + path;
}
