using Sealpost.Crypto.Vault;

namespace Sealpost.Tests.Vault;

/// <summary>Background work waits for users' large reads, but never for good.</summary>
public sealed class ForegroundReadsTests
{
    [Fact]
    public async Task With_no_large_read_running_background_work_goes_on_at_once()
    {
        var reads = new ForegroundReads();
        using (reads.Begin())
        {
        }

        await reads.IdleAsync(TimeSpan.FromHours(1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Background_work_waits_until_the_last_large_read_ends()
    {
        var reads = new ForegroundReads();
        var first = reads.Begin();
        var second = reads.Begin();
        var waiting = reads.IdleAsync(TimeSpan.FromHours(1), CancellationToken.None);

        first.Dispose();
        first.Dispose(); // twice counts once
        Assert.False(waiting.IsCompleted);
        second.Dispose();
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_read_that_does_not_end_holds_background_work_back_only_for_the_longest_wait()
    {
        var reads = new ForegroundReads();
        using var endless = reads.Begin();

        await reads.IdleAsync(TimeSpan.FromMilliseconds(1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
