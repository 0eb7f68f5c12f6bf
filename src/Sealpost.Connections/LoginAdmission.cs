namespace Sealpost.Connections;

/// <summary>
/// Puts logged-in sessions before new logins when the node is saturated. Every command of a
/// logged-in session is counted while it runs (<see cref="Run"/>) and never waits here. A login
/// starts at once while fewer than <see cref="BusyLimit"/> commands and started logins run and no
/// login is queued; else it queues, first come first served, and is let in one at a time as those
/// finish (it then counts as running itself, so waiting logins do not all start at once). So a
/// login storm (a restart, a failover, clients polling with LOGIN/LOGOUT) shows as a longer LOGIN,
/// not as every logged-in user's commands queueing behind it. A login never waits longer than
/// <see cref="MaxWait"/>: a command stuck on a slow client cannot keep logins out.
/// </summary>
public sealed class LoginAdmission
{
    private readonly object _lock = new();
    private readonly LinkedList<TaskCompletionSource> _waiting = new();
    private int _running;
    private long _queued;

    /// <param name="busyLimit">Commands and started logins running at once from which logins queue; 0 or less: never queue.</param>
    public LoginAdmission(int busyLimit, TimeSpan maxWait)
    {
        BusyLimit = busyLimit;
        MaxWait = maxWait;
    }

    public int BusyLimit { get; }

    public TimeSpan MaxWait { get; }

    /// <summary>Commands (and admitted logins) running now.</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Logins waiting now.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Logins that had to wait, since start (a gauge for operators and tests).</summary>
    public long Queued
    {
        get
        {
            lock (_lock)
            {
                return _queued;
            }
        }
    }

    /// <summary>A command of a logged-in session begins; dispose when it ends. Never waits.</summary>
    public Slot Run()
    {
        lock (_lock)
        {
            _running++;
        }

        return new Slot(this);
    }

    /// <summary>
    /// Waits until a login may start: at once while fewer than <see cref="BusyLimit"/> commands and
    /// logins run and no login is ahead, else until running commands make room or <see cref="MaxWait"/> passes.
    /// Dispose the slot when the login is answered.
    /// </summary>
    public async ValueTask<Slot> AdmitAsync(CancellationToken ct)
    {
        TaskCompletionSource admitted;
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (BusyLimit <= 0 || (_waiting.Count == 0 && _running < BusyLimit))
            {
                _running++;
                return new Slot(this);
            }

            admitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiting.AddLast(admitted);
            _queued++;
        }

        try
        {
            await admitted.Task.WaitAsync(MaxWait, ct);
            return new Slot(this); // counted as running by whoever let it in
        }
        catch (TimeoutException)
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    _waiting.Remove(node);
                    _running++;
                    return new Slot(this); // waited long enough: start anyway
                }
            }

            return new Slot(this); // let in just as the wait ended
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    _waiting.Remove(node);
                    throw;
                }
            }

            Leave(); // let in just as it was cancelled: hand the room on
            throw;
        }
    }

    private void Leave()
    {
        lock (_lock)
        {
            _running--;
            while (_waiting.First is { } first && _running < BusyLimit)
            {
                _waiting.RemoveFirst();
                _running++;
                first.Value.TrySetResult();
            }
        }
    }

    /// <summary>One running command or admitted login.</summary>
    public readonly struct Slot(LoginAdmission? owner) : IDisposable
    {
        public void Dispose() => owner?.Leave();
    }
}
