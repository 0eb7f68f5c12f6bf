using Sealpost.Crypto.Vault;
using Sealpost.Mime;

namespace Sealpost.Tests.Vault;

/// <summary>The in-memory metadata cache stays within its bound and counts what it holds.</summary>
public sealed class MetadataCacheTests
{
    [Theory]
    [InlineData(0, 10, 0)]       // off: nothing is kept
    [InlineData(100, 40, 40)]
    [InlineData(100, 100, 100)]
    [InlineData(100, 101, 76)]   // full: a quarter goes before the next one is added
    [InlineData(100, 1000, 100)] // 76 after the 101st, then back up to 100 by every 25th
    public void Holds_at_most_its_capacity(int capacity, int added, int expected)
    {
        var cache = new MetadataCache(capacity);
        var ids = Enumerable.Range(0, added).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in ids)
        {
            cache.Add(1, id, new MetadataView(new MessageMetadata()));
        }

        Assert.Equal(expected, cache.Count);
        Assert.Equal(cache.Count, ids.Count(id => cache.TryGet(1, id, out _)));
    }

    [Fact]
    public void Adding_the_same_message_twice_counts_once_and_other_accounts_do_not_hit()
    {
        var cache = new MetadataCache(10);
        var id = Guid.NewGuid();
        cache.Add(1, id, new MetadataView(new MessageMetadata()));
        cache.Add(1, id, new MetadataView(new MessageMetadata()));

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(1, id, out _));
        Assert.False(cache.TryGet(2, id, out _));
    }
}
