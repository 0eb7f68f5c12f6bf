using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Server;
using Sealpost.Server.Hosting;

namespace Sealpost.Tests.Support;

/// <summary>A fully wired runtime (SQLite store, keystore, vault) over a fresh data folder.</summary>
public sealed class TestRuntime : IAsyncDisposable
{
    private readonly TempFolder _folder;

    private TestRuntime(TempFolder folder, SealpostRuntime runtime, byte[] recoveryPrivateKey, StringWriter logs)
    {
        _folder = folder;
        Runtime = runtime;
        RecoveryPrivateKey = recoveryPrivateKey;
        Logs = logs;
    }

    public SealpostRuntime Runtime { get; }
    public byte[] RecoveryPrivateKey { get; }
    public StringWriter Logs { get; }
    public string DataDirectory => Runtime.Folder.Path;
    public string Root => _folder.Path;

    /// <param name="anchor">The officers' trust anchor to pin (its recovery key replaces the generated one); default: the test rig's local officer pair.</param>
    public static async Task<TestRuntime> CreateAsync(Action<SealpostOptions>? configure = null, TestOfficers? officers = null)
    {
        var folder = new TempFolder("sealpost-runtime");
        var options = TestOptions.For(folder.Sub("data"));
        configure?.Invoke(options);
        var (publicFile, privateKey) = TestOptions.RecoveryKey(folder.Path);
        var logs = new StringWriter();
        var loggers = LoggingSetup.CreateFactory(new LoggingOptions { Level = "Information" }, TextWriter.Synchronized(logs));
        var runtime = officers is null
            ? await SealpostRuntime.InitialiseAsync(options, loggers, dev: false, publicFile)
            : await SealpostRuntime.InitialiseAsync(options, loggers, dev: false, null, anchor: officers.Anchor);
        privateKey = officers?.RecoveryPrivateKey ?? privateKey;
        await runtime.Directory.AddDomainAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "example.test", "default");
        return new TestRuntime(folder, runtime, privateKey, logs);
    }

    /// <summary>Opens the same data folder again, as a restarted server would.</summary>
    public Task<SealpostRuntime> ReopenAsync() => SealpostRuntime.OpenAsync(Runtime.Options, NullLoggerFactory.Instance);

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        _folder.Dispose();
    }
}
