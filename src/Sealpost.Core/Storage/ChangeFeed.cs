using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Sealpost.Core.Storage;

[Flags]
public enum ChangeKinds
{
    None = 0,
    Appended = 1,
    FlagsChanged = 2,
    Expunged = 4,
    MailboxCreated = 8,
    MailboxDeleted = 16,
    MailboxRenamed = 32,
    SubscriptionChanged = 64,

    /// <summary>
    /// The account itself changed (state, roles, credentials: its credential version moved); mailbox id 0.
    /// Open sessions check at once whether they still stand, on every node.
    /// </summary>
    AccountChanged = 128,
}

/// <summary>
/// "Something changed in this mailbox, up to this MODSEQ". Deliberately small: a subscriber re-reads
/// the change log from its last known MODSEQ, so a lost or coalesced notification costs latency,
/// never correctness. The same shape travels through PostgreSQL NOTIFY across nodes.
/// </summary>
public readonly record struct MailboxChanged(long AccountId, long MailboxId, long HighestModSeq, ChangeKinds Kinds);

public interface IChangeFeed
{
    /// <summary>Notifications for every mailbox of one account, until the subscription is disposed.</summary>
    IChangeSubscription Subscribe(long accountId);

    /// <summary>Called by stores after commit.</summary>
    void Publish(MailboxChanged change);
}

public interface IChangeSubscription : IDisposable
{
    ChannelReader<MailboxChanged> Reader { get; }
}

/// <summary>
/// The feed within one process. Each subscriber has a small bounded queue that drops the oldest
/// entry when full: a slow session never blocks delivery, and because it re-reads by MODSEQ, the
/// newest notification is the only one that matters.
/// </summary>
public sealed class InProcessChangeFeed : IChangeFeed
{
    /// <summary>Queue length per subscriber before old notifications are dropped.</summary>
    public const int SubscriberQueueLength = 64;

    private readonly ConcurrentDictionary<long, ConcurrentDictionary<Subscription, byte>> _byAccount = new();

    public IChangeSubscription Subscribe(long accountId)
    {
        var subscription = new Subscription(this, accountId);
        _byAccount.GetOrAdd(accountId, _ => new()).TryAdd(subscription, 0);
        return subscription;
    }

    public void Publish(MailboxChanged change)
    {
        if (_byAccount.TryGetValue(change.AccountId, out var subscribers))
        {
            foreach (var subscriber in subscribers.Keys)
            {
                subscriber.Channel.Writer.TryWrite(change);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        if (_byAccount.TryGetValue(subscription.AccountId, out var subscribers))
        {
            subscribers.TryRemove(subscription, out _);
        }
    }

    private sealed class Subscription(InProcessChangeFeed feed, long accountId) : IChangeSubscription
    {
        public long AccountId { get; } = accountId;

        public Channel<MailboxChanged> Channel { get; } = System.Threading.Channels.Channel.CreateBounded<MailboxChanged>(
            new BoundedChannelOptions(SubscriberQueueLength) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public ChannelReader<MailboxChanged> Reader => Channel.Reader;

        public void Dispose()
        {
            feed.Remove(this);
            Channel.Writer.TryComplete();
        }
    }
}
