using Sealpost.Core.Configuration;
using Sealpost.Core.Storage;
using Sealpost.Store.Sqlite;

namespace Sealpost.Tests.Support;

/// <summary>Creates a fresh, empty store of one kind for one test. The contract suite runs once per factory.</summary>
public interface IStoreFactory : IAsyncDisposable
{
    string Name { get; }

    Task<ISealpostStore> CreateAsync(StoreOptions? options = null);

    /// <summary>Opens a second handle on the same database, as another process or node would.</summary>
    Task<ISealpostStore> OpenAgainAsync(ISealpostStore store);
}

public sealed class SqliteStoreFactory : IStoreFactory
{
    private readonly List<TempFolder> _folders = [];
    private readonly List<ISealpostStore> _opened = [];

    public string Name => "sqlite";

    public async Task<ISealpostStore> CreateAsync(StoreOptions? options = null)
    {
        var folder = new TempFolder("sealpost-store");
        _folders.Add(folder);
        var store = await SqliteStore.OpenAsync(folder.Path, options ?? new StoreOptions());
        _opened.Add(store);
        return store;
    }

    public async Task<ISealpostStore> OpenAgainAsync(ISealpostStore store)
    {
        var sqlite = (SqliteStore)store;
        var again = await SqliteStore.OpenAsync(sqlite.DataDirectory, sqlite.Options, new InProcessChangeFeed());
        _opened.Add(again);
        return again;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        foreach (var folder in _folders)
        {
            folder.Dispose();
        }
    }
}
