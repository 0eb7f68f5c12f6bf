namespace Sealpost.Connections;

/// <summary>
/// The server's stop as its sessions see it: once it begins, listeners accept nothing more and each
/// session ends at its next resting point (IMAP after the current command, SMTP after the transaction
/// in flight) with its protocol's goodbye, before the hard stop <c>Limits:ShutdownSeconds</c> later.
/// </summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly TaskCompletionSource _begun = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A signal that never begins (sessions outside a server, tools).</summary>
    public static ShutdownSignal None { get; } = new();

    /// <summary>Cancelled when the stop begins: link it into a wait that may end at a resting point.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Completes when the stop begins: one task for every session to race its reads against.</summary>
    public Task Begun => _begun.Task;

    public bool IsDraining => _source.IsCancellationRequested;

    public void Begin()
    {
        if (ReferenceEquals(this, None))
        {
            return;
        }

        _begun.TrySetResult();
        _source.Cancel();
    }

    public void Dispose()
    {
        if (!ReferenceEquals(this, None))
        {
            _source.Dispose();
        }
    }
}
