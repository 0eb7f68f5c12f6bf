namespace Sealpost.Crypto.Vault;

/// <summary>
/// Counts users' large reads in progress, so background work (the re-wrap after a login) can wait for them:
/// on a small node they would otherwise share its cores, and every re-wrap commit makes each reader of the
/// store re-read its pages.
/// </summary>
internal sealed class ForegroundReads
{
    private readonly Lock _gate = new();
    private int _running;
    private TaskCompletionSource _idle = Done();

    public IDisposable Begin()
    {
        lock (_gate)
        {
            if (_running++ == 0)
            {
                _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        return new Scope(this);
    }

    /// <summary>Completes when no large read is running, or after <paramref name="atMost"/> (reads that keep coming must not hold background work back for good).</summary>
    public async Task IdleAsync(TimeSpan atMost, CancellationToken ct)
    {
        Task idle;
        lock (_gate)
        {
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(atMost, ct);
        }
        catch (TimeoutException)
        {
        }
    }

    private void End()
    {
        lock (_gate)
        {
            if (--_running == 0)
            {
                _idle.SetResult();
            }
        }
    }

    private static TaskCompletionSource Done()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    private sealed class Scope(ForegroundReads owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.End();
            }
        }
    }
}
