using Sealpost.Core.Mail;

namespace Sealpost.Core.Storage;

/// <summary>What a row of the change log records (the <c>mail_changes.kind</c> column).</summary>
public enum ChangeRowKind
{
    Appended = 0,
    FlagsChanged = 1,
    Expunged = 2,
}

/// <summary>
/// The rows a mail store reads and writes inside one write transaction, and nothing else: no rule
/// about what a copy, an expunge or a delivery means lives behind this interface (those are in
/// <see cref="MailRules"/>, written once for every store). A SQLite implementation completes every
/// call synchronously; a PostgreSQL one goes to the server.
/// </summary>
public interface IMailRows
{
    /// <summary>Reads a mailbox row and holds it for the rest of the transaction (the per-mailbox lock).</summary>
    ValueTask<Mailbox?> LockMailboxAsync(long mailboxId);

    /// <summary>The messages of a mailbox with these UIDs, in UID order, held for the transaction.</summary>
    ValueTask<List<MessageRecord>> LockMessagesAsync(long mailboxId, IReadOnlyList<uint> uids);

    /// <summary>
    /// Advances a mailbox's next UID and highest MODSEQ by one and adds one message of this size to its
    /// counters; returns the owner, the UID taken and the new MODSEQ, or null when the mailbox is gone.
    /// </summary>
    ValueTask<(long AccountId, long Uid, long ModSeq)?> TakeUidAsync(long mailboxId, long size);

    /// <summary>Advances a mailbox's highest MODSEQ by one and removes messages from its counters; returns the new MODSEQ.</summary>
    ValueTask<long> NextModSeqAsync(long mailboxId, int removedMessages, long removedSize);

    ValueTask InsertMessageAsync(long mailboxId, uint uid, long blobId, MessageFlags flags, IReadOnlyList<int> keywords, DateTimeOffset internalDate, long size, long modseq, byte[]? wrappedKey);

    ValueTask UpdateFlagsAsync(long mailboxId, uint uid, MessageFlags flags, IReadOnlyList<int> keywords, long modseq);

    ValueTask DeleteMessagesAsync(long mailboxId, IReadOnlyList<uint> uids);

    ValueTask<bool> HasChildrenAsync(long mailboxId);

    /// <summary>Deletes a mailbox row and its change log.</summary>
    ValueTask DeleteMailboxRowAsync(long mailboxId);

    /// <summary>Deletes every message row of a mailbox; returns the blob of each (one entry per row).</summary>
    ValueTask<IReadOnlyList<long>> DeleteAllMessagesAsync(long mailboxId);

    ValueTask LogChangesAsync(long mailboxId, long modseq, IReadOnlyList<uint> uids, ChangeRowKind kind);

    ValueTask AddBlobReferenceAsync(long blobId);

    /// <summary>Drops references to a blob; returns how many remain.</summary>
    ValueTask<long> DropBlobReferencesAsync(long blobId, int count);

    /// <summary>Deletes a blob row; its file, if it has one, goes once the transaction commits.</summary>
    ValueTask DeleteBlobAsync(long blobId);

    /// <summary>A change other sessions hear about once the transaction commits.</summary>
    void Notify(MailboxChanged change);
}

/// <summary>
/// The mail store's rules, written once: UID and MODSEQ allocation, delivery into several mailboxes,
/// copy and move, flag changes, expunge and blob reference counting. Each store supplies only its
/// rows (<see cref="IMailRows"/>) and runs these inside its own write transaction.
/// </summary>
public static class MailRules
{
    /// <summary>Where a mailbox's UIDs end (RFC 9051 §2.3.1.1: a UID is a 32-bit value above zero).</summary>
    public const long LastUid = uint.MaxValue - 1L;

    /// <summary>Puts one stored blob into each target mailbox; the blob row already carries one reference per target.</summary>
    public static async ValueTask<IReadOnlyList<AppendResult>> AppendAsync(IMailRows rows, long blobId, long size, IReadOnlyList<NewMessage> targets)
    {
        if (targets.Count == 0)
        {
            throw SealpostException.Invalid("a delivery needs at least one mailbox");
        }

        var results = new AppendResult[targets.Count];
        // Lock order: ascending mailbox id, so overlapping deliveries cannot deadlock.
        foreach (var i in Enumerable.Range(0, targets.Count).OrderBy(i => targets[i].MailboxId))
        {
            var t = targets[i];
            var (accountId, uid, modseq) = await TakeUidAsync(rows, t.MailboxId, size);
            await rows.InsertMessageAsync(t.MailboxId, uid, blobId, t.Flags, t.KeywordIds, t.InternalDate, size, modseq, t.WrappedKey);
            await rows.LogChangesAsync(t.MailboxId, modseq, [uid], ChangeRowKind.Appended);
            results[i] = new AppendResult(t.MailboxId, uid, modseq, blobId);
            rows.Notify(new MailboxChanged(accountId, t.MailboxId, modseq, ChangeKinds.Appended));
        }

        return results;
    }

    /// <summary>
    /// COPY and MOVE within one account: each message gets the destination's next UID and shares its
    /// blob (one more reference); a move then expunges the originals. A move into the same mailbox is a
    /// move like any other (RFC 6851 §3.3): new UIDs, the old ones expunged.
    /// </summary>
    public static async ValueTask<CopyResult> CopyAsync(IMailRows rows, long sourceId, IReadOnlyList<uint> uids, long destinationId, bool move)
    {
        // Both mailbox rows held in id order.
        var locked = new Dictionary<long, Mailbox>();
        foreach (var id in new[] { sourceId, destinationId }.Distinct().Order())
        {
            locked[id] = await rows.LockMailboxAsync(id)
                ?? throw SealpostException.NotFound(id == sourceId ? "source mailbox does not exist" : "destination mailbox does not exist");
        }

        var source = locked[sourceId];
        var destination = locked[destinationId];
        if (source.AccountId != destination.AccountId)
        {
            throw new SealpostException(ErrorKind.Forbidden, "messages can only be copied within one account");
        }

        var messages = await rows.LockMessagesAsync(sourceId, uids);
        var sourceUids = new List<uint>(messages.Count);
        var destinationUids = new List<uint>(messages.Count);
        long last = 0;
        foreach (var m in messages)
        {
            var (_, uid, modseq) = await TakeUidAsync(rows, destinationId, m.Size);
            await rows.InsertMessageAsync(destinationId, uid, m.BlobId, m.Flags, m.KeywordIds, m.InternalDate, m.Size, modseq, m.WrappedKey);
            await rows.LogChangesAsync(destinationId, modseq, [uid], ChangeRowKind.Appended);
            await rows.AddBlobReferenceAsync(m.BlobId);
            sourceUids.Add(m.Uid);
            destinationUids.Add(uid);
            last = modseq;
        }

        if (destinationUids.Count > 0)
        {
            rows.Notify(new MailboxChanged(destination.AccountId, destinationId, last, ChangeKinds.Appended));
        }

        if (move && messages.Count > 0)
        {
            await RemoveAsync(rows, source, messages);
        }

        return new CopyResult(sourceUids, destinationUids, destination.UidValidity);
    }

    /// <summary>Sets flags and keywords; every message this call changes gets one new MODSEQ (RFC 7162 §3.1.3).</summary>
    public static async ValueTask<FlagChangeResult> ChangeFlagsAsync(IMailRows rows, long mailboxId, IReadOnlyList<uint> uids, FlagChange change)
    {
        var mailbox = await rows.LockMailboxAsync(mailboxId) ?? throw SealpostException.NotFound("mailbox does not exist");
        var messages = await rows.LockMessagesAsync(mailboxId, uids);
        var (pending, failed) = change.Plan(messages);
        if (pending.Count == 0)
        {
            return new FlagChangeResult([], failed, mailbox.HighestModSeq, messages);
        }

        var modseq = await rows.NextModSeqAsync(mailboxId, 0, 0);
        var updated = new List<FlagUpdate>(pending.Count);
        foreach (var (m, flags, keywords) in pending)
        {
            await rows.UpdateFlagsAsync(mailboxId, m.Uid, flags, keywords, modseq);
            updated.Add(new FlagUpdate(m.Uid, flags, keywords, modseq));
        }

        await rows.LogChangesAsync(mailboxId, modseq, updated.Select(u => u.Uid).ToList(), ChangeRowKind.FlagsChanged);
        rows.Notify(new MailboxChanged(mailbox.AccountId, mailboxId, modseq, ChangeKinds.FlagsChanged));
        return new FlagChangeResult(updated, failed, modseq, messages);
    }

    /// <summary>Removes the messages with these UIDs (those that still exist) under one new MODSEQ.</summary>
    public static async ValueTask<ExpungeResult> ExpungeAsync(IMailRows rows, long mailboxId, IReadOnlyList<uint> uids)
    {
        var mailbox = await rows.LockMailboxAsync(mailboxId) ?? throw SealpostException.NotFound("mailbox does not exist");
        var messages = await rows.LockMessagesAsync(mailboxId, uids);
        return messages.Count == 0 ? new ExpungeResult([], mailbox.HighestModSeq) : await RemoveAsync(rows, mailbox, messages);
    }

    /// <summary>Deletes a mailbox without children, its messages (releasing their blobs) and its change log.</summary>
    public static async ValueTask<Mailbox> DeleteMailboxAsync(IMailRows rows, long mailboxId)
    {
        var mailbox = await rows.LockMailboxAsync(mailboxId) ?? throw SealpostException.NotFound("mailbox does not exist");
        if (await rows.HasChildrenAsync(mailboxId))
        {
            throw SealpostException.Conflict("the mailbox has children");
        }

        var blobs = await rows.DeleteAllMessagesAsync(mailboxId);
        await ReleaseBlobsAsync(rows, blobs);
        await rows.DeleteMailboxRowAsync(mailboxId);
        rows.Notify(new MailboxChanged(mailbox.AccountId, mailboxId, mailbox.HighestModSeq + 1, ChangeKinds.MailboxDeleted));
        return mailbox;
    }

    /// <summary>Drops one reference per entry; a blob nobody points to any more goes (in id order: the lock order).</summary>
    public static async ValueTask ReleaseBlobsAsync(IMailRows rows, IEnumerable<long> blobIds)
    {
        foreach (var group in blobIds.GroupBy(id => id).OrderBy(g => g.Key))
        {
            if (await rows.DropBlobReferencesAsync(group.Key, group.Count()) <= 0)
            {
                await rows.DeleteBlobAsync(group.Key);
            }
        }
    }

    /// <summary>
    /// Runs a rule against rows that complete synchronously (SQLite's writer thread); a rule never
    /// waits on anything but its rows, so the task has finished when this returns.
    /// </summary>
    public static T RunSynchronously<T>(ValueTask<T> rule)
    {
        if (!rule.IsCompleted)
        {
            throw new InvalidOperationException("a synchronous store's rule did not complete synchronously");
        }

        return rule.GetAwaiter().GetResult();
    }

    private static async ValueTask<(long AccountId, uint Uid, long ModSeq)> TakeUidAsync(IMailRows rows, long mailboxId, long size)
    {
        var taken = await rows.TakeUidAsync(mailboxId, size) ?? throw SealpostException.NotFound("the mailbox does not exist");
        if (taken.Uid > LastUid)
        {
            throw SealpostException.Limit("the mailbox has used up its UID space");
        }

        return (taken.AccountId, (uint)taken.Uid, taken.ModSeq);
    }

    private static async ValueTask<ExpungeResult> RemoveAsync(IMailRows rows, Mailbox mailbox, List<MessageRecord> messages)
    {
        var modseq = await rows.NextModSeqAsync(mailbox.Id, messages.Count, messages.Sum(m => m.Size));
        var uids = messages.Select(m => m.Uid).ToList();
        await rows.DeleteMessagesAsync(mailbox.Id, uids);
        await rows.LogChangesAsync(mailbox.Id, modseq, uids, ChangeRowKind.Expunged);
        await ReleaseBlobsAsync(rows, messages.Select(m => m.BlobId));
        rows.Notify(new MailboxChanged(mailbox.AccountId, mailbox.Id, modseq, ChangeKinds.Expunged));
        return new ExpungeResult(uids, modseq);
    }
}
