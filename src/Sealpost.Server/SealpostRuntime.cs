using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Configuration;
using Sealpost.Core.Logging;
using Sealpost.Core.Security;
using Sealpost.Core.Services;
using Sealpost.Core.Storage;
using Sealpost.Crypto;
using Sealpost.Store.Sqlite;

namespace Sealpost.Server;

/// <summary>
/// The wired domain: store, services and logging for one data folder. The CLI opens one per
/// command; the server opens one for its lifetime. Only this class knows which store is concrete.
/// </summary>
public sealed class SealpostRuntime : IAsyncDisposable
{
    private SealpostRuntime(SealpostOptions options, DataFolder folder, ISealpostStore store, ILoggerFactory loggerFactory, LogRedactor redactor, IPasswordHasher hasher)
    {
        Options = options;
        Folder = folder;
        Store = store;
        LoggerFactory = loggerFactory;
        Redactor = redactor;
        PasswordHasher = hasher;
        Mailboxes = new MailboxService(store.Mail, new PlaintextNameProtector());
        Directory = new DirectoryService(store, hasher, Mailboxes, redactor, loggerFactory.CreateLogger<DirectoryService>());
        Recipients = new RecipientResolver(store.Directory, options.Limits.MaxGroupNesting, options.Limits.MaxExpandedRecipients, redactor, loggerFactory.CreateLogger<RecipientResolver>());
    }

    public SealpostOptions Options { get; }
    public DataFolder Folder { get; }
    public ISealpostStore Store { get; }
    public ILoggerFactory LoggerFactory { get; }
    public LogRedactor Redactor { get; }
    public IPasswordHasher PasswordHasher { get; }
    public DirectoryService Directory { get; }
    public MailboxService Mailboxes { get; }
    public RecipientResolver Recipients { get; }

    /// <summary>Opens an initialised data folder.</summary>
    public static async Task<SealpostRuntime> OpenAsync(SealpostOptions options, ILoggerFactory loggerFactory, CancellationToken ct = default)
    {
        var folder = new DataFolder(options.DataDirectory);
        if (!folder.IsInitialised)
        {
            throw SealpostException.NotFound($"'{folder.Path}' is not an initialised data folder; run 'sealpost init --data {folder.Path}' first");
        }

        var store = await OpenStoreAsync(options, folder, ct);
        return new SealpostRuntime(options, folder, store, loggerFactory, new LogRedactor(folder.ReadLogKey()), new Argon2idPasswordHasher(options.PasswordHashing));
    }

    /// <summary>Creates a new data folder: layout, schema, the default tenant.</summary>
    public static async Task<SealpostRuntime> InitialiseAsync(SealpostOptions options, ILoggerFactory loggerFactory, bool dev, CancellationToken ct = default)
    {
        var folder = new DataFolder(options.DataDirectory);
        folder.Initialise(dev);
        var store = await OpenStoreAsync(options, folder, ct);
        var runtime = new SealpostRuntime(options, folder, store, loggerFactory, new LogRedactor(folder.ReadLogKey()), new Argon2idPasswordHasher(options.PasswordHashing));
        await runtime.Directory.AddTenantAsync("default", "Default tenant", ct);
        folder.MarkInitialised();
        return runtime;
    }

    private static async Task<ISealpostStore> OpenStoreAsync(SealpostOptions options, DataFolder folder, CancellationToken ct) =>
        options.Store.Kind switch
        {
            "sqlite" => await SqliteStore.OpenAsync(folder.Path, options.Store, new InProcessChangeFeed(), migrate: true, ct),
            _ => throw SealpostException.Invalid($"Store:Kind: '{options.Store.Kind}' is not supported"),
        };

    public async ValueTask DisposeAsync() => await Store.DisposeAsync();
}
