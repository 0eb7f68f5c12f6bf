using Sealpost.Domain;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>The Sender Rewriting Scheme: round trips, refuses what we did not make, and expires.</summary>
public sealed class SrsTests
{
    private static readonly byte[] Secret = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];

    [Fact]
    public void A_rewritten_sender_reverses_to_the_original()
    {
        var srs = new Srs(Secret, new ManualTime(DateTimeOffset.UtcNow));
        var rewritten = srs.Forward("Carol.Smith@outside.example", "example.test");
        Assert.Matches(@"^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=outside\.example=Carol\.Smith@example\.test$", rewritten);
        Assert.True(srs.TryReverse(rewritten[..rewritten.LastIndexOf('@')], out var original));
        Assert.Equal("Carol.Smith@outside.example", original);
        Assert.True(srs.TryReverse(rewritten[..rewritten.LastIndexOf('@')].ToLowerInvariant(), out _));
    }

    [Theory]
    [InlineData("SRS0=AAAA=AA=outside.example=carol")]
    [InlineData("SRS0=only=three=parts")]
    [InlineData("SRS0=")]
    [InlineData("carol")]
    public void What_we_did_not_make_does_not_reverse(string local) =>
        Assert.False(new Srs(Secret, TimeProvider.System).TryReverse(local, out _));

    [Fact]
    public void A_changed_original_does_not_reverse()
    {
        var srs = new Srs(Secret, TimeProvider.System);
        var rewritten = srs.Forward("carol@outside.example", "example.test");
        var local = rewritten[..rewritten.LastIndexOf('@')].Replace("=carol", "=mallory", StringComparison.Ordinal);
        Assert.False(srs.TryReverse(local, out _));
    }

    [Fact]
    public void An_address_older_than_21_days_no_longer_reverses()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var srs = new Srs(Secret, time);
        var local = srs.Forward("carol@outside.example", "example.test").Split('@')[0];
        time.Advance(TimeSpan.FromDays(21));
        Assert.True(srs.TryReverse(local, out _));
        time.Advance(TimeSpan.FromDays(1));
        Assert.False(srs.TryReverse(local, out _));
    }

    [Fact]
    public void The_null_sender_stays_null() =>
        Assert.Equal("", new Srs(Secret, TimeProvider.System).Forward("", "example.test"));
}
