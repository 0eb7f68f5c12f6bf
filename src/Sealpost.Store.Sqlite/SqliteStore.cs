using Microsoft.Data.Sqlite;
using Sealpost.Core;
using Sealpost.Core.Configuration;
using Sealpost.Core.Storage;

namespace Sealpost.Store.Sqlite;

/// <summary>
/// The embedded store: DATA/sealpost.db (SQLite, WAL, synchronous=FULL) plus DATA/blobs/ for blobs
/// larger than <see cref="StoreOptions.InlineBlobMaxBytes"/>. Reads use pooled connections (WAL:
/// readers never wait for the writer); writes go through <see cref="SqliteWriter"/>.
/// </summary>
public sealed class SqliteStore : ISealpostStore
{
    public const string DatabaseFileName = "sealpost.db";
    public const string BlobFolderName = "blobs";

    private readonly string _connectionString;
    private readonly SqliteWriter _writer;
    private readonly SqliteReaders _readers;

    private SqliteStore(string dataDirectory, StoreOptions options, IChangeFeed feed)
    {
        DataDirectory = dataDirectory;
        Options = options;
        Changes = feed;
        Files = new BlobFiles(Path.Combine(dataDirectory, BlobFolderName));
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, DatabaseFileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = Math.Max(1, options.BusyTimeoutMilliseconds / 1000),
        }.ToString();
        _writer = new SqliteWriter(_connectionString, options.GroupCommitMaxOperations, feed, Files, options.EraseDeletedMail);
        _readers = new SqliteReaders(_connectionString);
        Directory = new SqliteDirectoryStore(this);
        Mail = new SqliteMailStore(this);
        Queue = new SqliteQueueStore(this);
    }

    public string Kind => "sqlite";

    public async Task<bool> ScrubAsync(CancellationToken cancellationToken = default)
    {
        // On a connection of its own, like the checkpointer: TRUNCATE waits for readers and the writer
        // (busy timeout), copies every frame into the database and empties the WAL file.
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var timeout = connection.CreateCommand())
        {
            timeout.CommandText = "PRAGMA busy_timeout=10000";
            await timeout.ExecuteNonQueryAsync(cancellationToken);
        }

        AttachKeys(connection); // without a schema name, the checkpoint below takes every attached database

        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)"; // one row: busy (0 when done), WAL frames, frames checkpointed
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken) && reader.GetInt64(0) == 0)
            {
                return true;
            }

            await Task.Delay(100, cancellationToken);
        }

        return false;
    }

    public async Task<BackupStats> BackupToAsync(string folder, CancellationToken cancellationToken = default)
    {
        System.IO.Directory.CreateDirectory(folder);
        // Deletions wait until the blob files are copied: every file the snapshot names is still there.
        using var hold = Files.HoldDeletions();
        // Taken inside a write operation: this process's writer (and, through SQLite's lock, any other
        // process) writes nothing meanwhile, so both databases are copied as of one moment.
        var databases = await _writer.WriteAsync(_ =>
        {
            using var source = new SqliteConnection(_connectionString);
            source.Open();
            AttachKeys(source);
            long bytes = 0;
            foreach (var (schema, file) in new[] { ("main", DatabaseFileName), ("keys", KeysFileName) })
            {
                var target = Path.Combine(folder, file);
                using (var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = target, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString()))
                {
                    copy.Open();
                    source.BackupDatabase(copy, "main", schema);
                }

                bytes += new FileInfo(target).Length;
            }

            return new BackupStats(2, bytes);
        }, cancellationToken);
        var blobs = Files.CopyTo(Path.Combine(folder, BlobFolderName));
        return databases.Add(blobs);
    }

    /// <summary>SQLite's own integrity check of a database file (a backup's, say): null when it passes, else its first finding.</summary>
    public static string? CheckIntegrity(string path)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            var result = command.ExecuteScalar() as string;
            return result == "ok" ? null : result ?? "no answer";
        }
        catch (SqliteException ex)
        {
            return ex.Message;
        }
    }

    public string DataDirectory { get; }

    internal StoreOptions Options { get; }

    internal BlobFiles Files { get; }

    public IDirectoryStore Directory { get; }

    public IMailStore Mail { get; }

    public IQueueStore Queue { get; }

    public IChangeFeed Changes { get; }

    /// <summary>Opens (creating if needed) the store in <paramref name="dataDirectory"/> and migrates it.</summary>
    public static async Task<SqliteStore> OpenAsync(string dataDirectory, StoreOptions options, IChangeFeed? feed = null, bool migrate = true, CancellationToken ct = default)
    {
        System.IO.Directory.CreateDirectory(dataDirectory);
        SqliteStore store;
        try
        {
            store = new SqliteStore(dataDirectory, options, feed ?? new InProcessChangeFeed());
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"cannot open the database in '{dataDirectory}': {ex.Message}", ex);
        }

        if (migrate)
        {
            var before = await store.GetSchemaVersionAsync(ct);
            await store.MigrateAsync(ct);
            if (before is > 0 and < KeysFileSchemaVersion)
            {
                await store.ScrubAsync(ct); // the moved key wraps' old pages: out of the WAL too
            }
        }

        return store;
    }

    internal static void ConfigureConnection(SqliteConnection connection, bool writer, bool eraseDeletedMail = true)
    {
        using var command = connection.CreateCommand();
        command.CommandText = writer
            // secure_delete: what the mail database deletes (an expunged or shredded message's sealed rows) is
            // overwritten unless Store:EraseDeletedMail is off; key material in keys.db always is.
            ? $"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA main.secure_delete={(eraseDeletedMail ? "ON" : "OFF")};"
            : "PRAGMA busy_timeout=10000;";
        command.ExecuteNonQuery();
        AttachKeys(connection);
    }

    /// <summary>
    /// Attaches DATA/keys.db as schema <c>keys</c> (once per connection; pooled connections keep it):
    /// credentials with their key wraps, account key versions, recovery wraps, the keystore, second
    /// factors and API credentials, with <c>secure_delete</c> on, so a removed wrap is overwritten in
    /// the file instead of lingering in a free page. Queries name the tables unqualified.
    /// </summary>
    internal static void AttachKeys(SqliteConnection connection)
    {
        // Pooled handles come back attached: a C call tells, without preparing a statement on every read.
        if (!string.IsNullOrEmpty(SQLitePCL.raw.sqlite3_db_filename(connection.Handle, "keys").utf8_to_string()))
        {
            return;
        }

        using var attach = connection.CreateCommand();
        attach.CommandText = "ATTACH DATABASE $path AS keys";
        attach.Parameters.AddWithValue("$path", Path.Combine(Path.GetDirectoryName(connection.DataSource)!, KeysFileName));
        attach.ExecuteNonQuery();
        using var pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA keys.journal_mode=WAL; PRAGMA keys.synchronous=FULL; PRAGMA keys.secure_delete=ON;";
        pragmas.ExecuteNonQuery();
    }

    /// <summary>The file of key material beside the mail database (see <see cref="AttachKeys"/>).</summary>
    public const string KeysFileName = "keys.db";

    /// <summary>The schema version that moved key material into <see cref="KeysFileName"/>.</summary>
    private const int KeysFileSchemaVersion = 14;

    public Task MigrateAsync(CancellationToken cancellationToken = default) =>
        WriteAsync(ctx =>
        {
            var version = ReadVersion(ctx.Connection, ctx.Transaction);
            if (version > Schema.CurrentVersion)
            {
                throw new SealpostException(ErrorKind.Conflict,
                    $"the database has schema version {version}, newer than this program knows ({Schema.CurrentVersion}); upgrade sealpost");
            }

            for (var v = version; v < Schema.CurrentVersion; v++)
            {
                using var command = ctx.Command(Schema.Migrations[v]);
                command.ExecuteNonQuery();
                using var set = ctx.Command("INSERT INTO meta(key, value) VALUES ('schema_version', $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
                set.Parameters.AddWithValue("$v", (v + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                set.ExecuteNonQuery();
            }

            // A migration may have changed it (14 drops tables with it on): back to what the options say.
            using (var erase = ctx.Command($"PRAGMA main.secure_delete={(Options.EraseDeletedMail ? "ON" : "OFF")}"))
            {
                erase.ExecuteNonQuery();
            }

            return 0;
        }, cancellationToken);

    public Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(connection => ReadVersion(connection, null), cancellationToken);

    private static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var exists = connection.CreateCommand();
        exists.Transaction = transaction;
        exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'";
        if (Convert.ToInt64(exists.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            return 0;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT value FROM meta WHERE key = 'schema_version'";
        return command.ExecuteScalar() is string s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    internal Task<T> WriteAsync<T>(Func<WriteContext, T> operation, CancellationToken ct) => _writer.WriteAsync(operation, ct);

    /// <summary>Raised after each group commit is durable, before its writers are answered (see <see cref="SqliteWriter.Committed"/>).</summary>
    public event Action<IReadOnlyList<MailboxChanged>>? Committed
    {
        add => _writer.Committed += value;
        remove => _writer.Committed -= value;
    }

    /// <summary>Checkpoint rounds finished beside the writer.</summary>
    internal long CheckpointRounds => _writer.CheckpointRounds;

    /// <summary>A PRAGMA's value as the writer's own connection sees it (e.g. synchronous: 2 is FULL).</summary>
    public Task<long> WriterPragmaAsync(string name) => !name.All(c => c is (>= 'a' and <= 'z') or '_' or '.')
        ? throw SealpostException.Invalid("not a pragma name")
        : _writer.WriteAsync(ctx => Convert.ToInt64(ctx.Command("PRAGMA " + name).ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);

    /// <summary>Runs a read on one of the store's open read connections (<see cref="SqliteReaders"/>), mapping SQLite errors to store errors.</summary>
    internal Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(ct);
        }

        SqliteConnection connection;
        try
        {
            connection = _readers.Rent();
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(SqliteErrors.Map(ex));
        }

        var healthy = false;
        try
        {
            var result = read(connection);
            healthy = SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0; // no transaction left open
            return Task.FromResult(result);
        }
        catch (SqliteException ex)
        {
            return Task.FromException<T>(SqliteErrors.Map(ex));
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(ex);
        }
        finally
        {
            _readers.Return(connection, healthy);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        _readers.Dispose();
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }
}

internal static class SqliteExtensions
{
    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    /// <summary>A command on a read connection: prepared once per pooled reader (see <see cref="SqliteReaders.Command"/>).</summary>
    public static SqliteCommand Sql(this SqliteConnection connection, string sql) => SqliteReaders.Command(connection, sql);

    public static long Scalar(this SqliteCommand command) =>
        Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);

    public static List<T> ReadAll<T>(this SqliteCommand command, Func<SqliteDataReader, T> map)
    {
        using var reader = command.ExecuteReader();
        var list = new List<T>();
        while (reader.Read())
        {
            list.Add(map(reader));
        }

        return list;
    }

    public static T? ReadOne<T>(this SqliteCommand command, Func<SqliteDataReader, T> map)
        where T : class
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? map(reader) : null;
    }

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);
}
