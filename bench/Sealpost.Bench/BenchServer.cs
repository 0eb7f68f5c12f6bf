using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Server.Hosting;

namespace Sealpost.Bench;

/// <summary>
/// A development server for a benchmark: every listener on 127.0.0.1 port 0, a throw-away data folder
/// (removed on dispose), SQLite or the given PostgreSQL. SEALPOST_BENCH_LOG=1 shows the server's log.
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly string _folder;

    private BenchServer(string folder, SealpostServer server)
    {
        _folder = folder;
        Server = server;
    }

    public SealpostServer Server { get; }

    public static async Task<BenchServer> StartAsync(string name, string? postgres, Action<SealpostOptions>? configure = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"sealpost-bench-{name}-{Guid.NewGuid():N}");
        var options = new SealpostOptions { DataDirectory = folder, Hostname = "bench.example" };
        options.Http.Listen.Add("127.0.0.1:0");
        options.Smtp.InboundListen.Add("127.0.0.1:0");
        options.Smtp.SubmissionListen.Add("127.0.0.1:0");
        options.Smtp.SubmissionTlsListen.Add("127.0.0.1:0");
        options.Imap.Listen.Add("127.0.0.1:0");
        options.Imap.TlsListen.Add("127.0.0.1:0");
        options.Imap.AllowPlaintextAuthOnLoopback = true;
        options.Log.Level = Environment.GetEnvironmentVariable("SEALPOST_BENCH_LOG") is { Length: > 0 } level && level != "1" ? level : "Warning";
        options.Smtp.UseSystemDns = false;
        if (postgres is not null)
        {
            options.Store.Kind = "postgres";
            options.Store.ConnectionString = postgres;
        }

        configure?.Invoke(options);
        try
        {
            await DevEnvironment.PrepareAsync(options, NullLoggerFactory.Instance);
            var log = Environment.GetEnvironmentVariable("SEALPOST_BENCH_LOG") is null ? TextWriter.Null : Console.Error;
            return new BenchServer(folder, await SealpostServer.StartAsync(new ServerStartOptions(options, Dev: true, LogSink: log)));
        }
        catch
        {
            Remove(folder);
            throw;
        }
    }

    private static void Remove(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Remove(_folder);
    }
}
