namespace Sealpost.Imap;

/// <summary>
/// A session's view of its selected mailbox (RFC 9051 §2.3.1.2): sequence number n is
/// <c>Uids[n-1]</c>. The view changes only when the session tells the client (EXISTS, EXPUNGE),
/// so numbers stay consistent however the mailbox changes underneath. Kept compact (four octets
/// per message): a session may sit on a 100,000-message mailbox for hours.
/// </summary>
internal sealed class SelectedMailbox(long mailboxId, bool readOnly, uint uidValidity, List<uint> uids, long knownModSeq)
{
    public long MailboxId { get; } = mailboxId;
    public bool ReadOnly { get; } = readOnly;
    public uint UidValidity { get; } = uidValidity;
    public List<uint> Uids { get; } = uids;

    /// <summary>The access grant the mailbox is read under (another account's, read-only); null for the user's own.</summary>
    public GrantedAccess? Granted { get; init; }

    /// <summary>The MODSEQ up to which this session has told its client everything.</summary>
    public long KnownModSeq { get; set; } = knownModSeq;

    /// <summary>UIDs expunged elsewhere but not yet announced (EXPUNGE is held back during FETCH, STORE and SEARCH).</summary>
    public SortedSet<uint> PendingExpunges { get; } = [];

    /// <summary>Flag states this session already sent in answer to its own STORE (uid → MODSEQ), so the change feed does not echo them.</summary>
    public Dictionary<uint, long> SelfReported { get; } = [];

    /// <summary>Messages for which this session was the first to see them (\Recent, rev1; RFC 3501 §2.3.2).</summary>
    public HashSet<uint>? Recent { get; set; }

    /// <summary>How many keywords this session last listed in FLAGS and PERMANENTFLAGS.</summary>
    public int AnnouncedKeywords { get; set; }

    /// <summary>The feed said this mailbox changed since the last look.</summary>
    public bool Dirty { get; set; }

    public uint Count => (uint)Uids.Count;

    /// <summary>
    /// Takes in this session's own change, made under <paramref name="modseq"/>. MODSEQs of a mailbox go up
    /// by one per change, so one right after <see cref="KnownModSeq"/> means nobody else changed the mailbox
    /// in between: the client, told of the change by the command itself, now knows everything up to it, and
    /// the feed's news of it needs no look at the change log. False (nothing changes) otherwise.
    /// </summary>
    public bool AbsorbOwnChange(long modseq)
    {
        if (modseq != KnownModSeq + 1)
        {
            return false;
        }

        KnownModSeq = modseq;
        return true;
    }

    public uint MaxUid => Uids.Count == 0 ? 0 : Uids[^1];

    /// <summary>Sequence number of a UID, or 0 if the view does not hold it.</summary>
    public uint SequenceOf(uint uid)
    {
        var i = Uids.BinarySearch(uid);
        return i < 0 ? 0 : (uint)(i + 1);
    }

    /// <summary>UID of a sequence number (1-based; the caller has checked the range).</summary>
    public uint UidAt(uint sequence) => Uids[(int)sequence - 1];
}
