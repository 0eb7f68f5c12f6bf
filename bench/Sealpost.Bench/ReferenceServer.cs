using System.Diagnostics;
using System.Net;

namespace Sealpost.Bench;

/// <summary>A reference server the benchmarks started (Dovecot, Postfix): its process, its temp folder, where it listens; killed and removed on dispose.</summary>
internal abstract class ReferenceServer(Process process, string folder, IPEndPoint endpoint) : IAsyncDisposable
{
    protected string Folder { get; } = folder;

    public IPEndPoint Endpoint { get; } = endpoint;

    public virtual async ValueTask DisposeAsync()
    {
        try
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
