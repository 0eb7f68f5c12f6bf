using Sealpost.Core.Caching;

namespace Sealpost.Tests.Model;

public sealed class TtlCacheTests
{
    private sealed class ManualClock : TimeProvider
    {
        public long Now { get; set; } = 1_000_000;

        public override long TimestampFrequency => 1_000; // milliseconds

        public override long GetTimestamp() => Now;
    }

    [Fact]
    public async Task Answers_are_reused_until_they_expire_then_loaded_again()
    {
        var clock = new ManualClock();
        var cache = new TtlCache<string, int>(TimeSpan.FromSeconds(5), 100, clock);
        var loads = 0;
        Task<int> Load(string key, CancellationToken _) => Task.FromResult(++loads * 10);

        Assert.Equal(10, await cache.GetOrLoadAsync("a", Load, default));
        clock.Now += 4_999;
        Assert.Equal(10, await cache.GetOrLoadAsync("a", Load, default));
        Assert.Equal(1, loads);
        clock.Now += 1;
        Assert.Equal(20, await cache.GetOrLoadAsync("a", Load, default));
        Assert.Equal(2, loads);
    }

    [Fact]
    public async Task Update_changes_only_live_entries_and_remove_forgets()
    {
        var clock = new ManualClock();
        var cache = new TtlCache<long, long>(TimeSpan.FromSeconds(5), 100, clock);
        await cache.GetOrLoadAsync(1, (_, _) => Task.FromResult(100L), default);
        cache.Update(1, v => v + 5);
        Assert.True(cache.TryGet(1, out var value));
        Assert.Equal(105, value);

        cache.Update(2, v => v + 5); // missing: stays missing
        Assert.False(cache.TryGet(2, out _));

        clock.Now += 5_000;
        cache.Update(1, v => v + 5); // expired: not revived
        Assert.False(cache.TryGet(1, out _));

        await cache.GetOrLoadAsync(3, (_, _) => Task.FromResult(7L), default);
        cache.Remove(3);
        Assert.False(cache.TryGet(3, out _));
    }

    [Fact]
    public async Task A_full_cache_drops_expired_entries_first_and_never_grows_past_its_capacity()
    {
        var clock = new ManualClock();
        var cache = new TtlCache<int, int>(TimeSpan.FromSeconds(5), 4, clock);
        for (var i = 0; i < 3; i++)
        {
            await cache.GetOrLoadAsync(i, (k, _) => Task.FromResult(k), default);
        }

        clock.Now += 3_000;
        await cache.GetOrLoadAsync(3, (k, _) => Task.FromResult(k), default);
        clock.Now += 2_500; // 0..2 expired, 3 still live
        await cache.GetOrLoadAsync(4, (k, _) => Task.FromResult(k), default);
        Assert.Equal(2, cache.Count);
        Assert.True(cache.TryGet(3, out _));

        for (var i = 10; i < 100; i++)
        {
            await cache.GetOrLoadAsync(i, (k, _) => Task.FromResult(k), default);
            Assert.True(cache.Count <= 4);
        }
    }

    [Fact]
    public async Task A_zero_ttl_loads_every_time_and_keeps_nothing()
    {
        var cache = new TtlCache<string, int>(TimeSpan.Zero, 10);
        var loads = 0;
        await cache.GetOrLoadAsync("a", (_, _) => Task.FromResult(++loads), default);
        await cache.GetOrLoadAsync("a", (_, _) => Task.FromResult(++loads), default);
        Assert.Equal(2, loads);
        Assert.Equal(0, cache.Count);
    }
}
