using System.Collections.Concurrent;

namespace Sealpost.Connections;

/// <summary>Connections in total and per client address, for one protocol.</summary>
public sealed class ConnectionGate(int maxTotal, int maxPerAddress)
{
    private readonly ConcurrentDictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>Takes a slot, or says why not. Dispose the returned lease when the connection ends.</summary>
    public IDisposable? TryEnter(string clientAddress, out string? refusal)
    {
        if (Interlocked.Increment(ref _total) > maxTotal)
        {
            Interlocked.Decrement(ref _total);
            refusal = "too many connections";
            return null;
        }

        if (_perAddress.AddOrUpdate(clientAddress, 1, (_, n) => n + 1) > maxPerAddress)
        {
            Leave(clientAddress);
            refusal = "too many connections from your address";
            return null;
        }

        refusal = null;
        return new Lease(this, clientAddress);
    }

    private void Leave(string clientAddress)
    {
        Interlocked.Decrement(ref _total);
        _perAddress.AddOrUpdate(clientAddress, 0, (_, n) => n - 1);
        _perAddress.TryRemove(new KeyValuePair<string, int>(clientAddress, 0));
    }

    private sealed class Lease(ConnectionGate gate, string address) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                gate.Leave(address);
            }
        }
    }
}
