using System.Data;
using System.Globalization;
using Npgsql;
using Sealpost.Core;
using Sealpost.Core.Storage;

namespace Sealpost.Store.Postgres;

/// <summary>
/// The scale-out store. Several nodes share one database; every write is one transaction at READ
/// COMMITTED, UIDs and MODSEQs are taken with <c>UPDATE mailboxes ... RETURNING</c> (the row lock is
/// the per-mailbox lock, held to commit), rows are locked in ascending id order, and
/// serialisation failures and deadlocks are retried. Change notifications go out with
/// <c>pg_notify</c> inside the transaction, so PostgreSQL delivers them only on commit.
/// Blobs are <c>bytea</c> rows: one engine, one replication stream, one backup.
/// </summary>
public sealed class PostgresStore : ISealpostStore
{
    public const string NotifyChannel = "sealpost_changes";
    private const int MaxAttempts = 6;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresChangeFeed _feed;

    private PostgresStore(NpgsqlDataSource dataSource, PostgresChangeFeed feed, string connectionString)
    {
        ConnectionString = connectionString;
        _dataSource = dataSource;
        _feed = feed;
        Directory = new PostgresDirectoryStore(this);
        Mail = new PostgresMailStore(this);
        Queue = new PostgresQueueStore(this);
        Deliveries = new PostgresDeliveryBatcher(this, PostgresMailStore.DeliverOneAsync, PostgresMailStore.DeliverManyAsync);
    }

    public string Kind => "postgres";

    public Task<bool> ScrubAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

    public Task<BackupStats> BackupToAsync(string folder, CancellationToken cancellationToken = default) => throw BackupRefused();

    /// <summary>PostgreSQL is backed up by the cluster's own means, not by a copy from a node.</summary>
    internal static SealpostException BackupRefused() =>
        SealpostException.Invalid("a PostgreSQL store is backed up with pg_basebackup and WAL archiving (docs/operations.md, Backups), not by sealpost backup");

    /// <summary>As configured (it may hold a password: never log it).</summary>
    public string ConnectionString { get; }

    /// <summary>Completes once this store's LISTEN is active.</summary>
    public Task Listening => _feed.Listening.Task;
    public IDirectoryStore Directory { get; }
    public IMailStore Mail { get; }
    public IQueueStore Queue { get; }

    internal PostgresDeliveryBatcher Deliveries { get; }
    public IChangeFeed Changes => _feed;

    /// <summary>
    /// What the configured database is: some host read-write (a primary to serve from), only standbys
    /// in recovery (a node waits, unsealed, until one is promoted), or no host answering (an outage,
    /// reported as such by the store itself). For a standby, how far behind it replays, for health.
    /// Target Session Attributes is set aside for this one check: a node whose string asks for
    /// read-write finds no host at all while its only host is a standby.
    /// </summary>
    public static async Task<(DatabaseRole Role, string Detail)> DatabaseRoleAsync(string connectionString, CancellationToken ct = default)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString) { TargetSessionAttributes = "any", Pooling = false };
            builder.Timeout = Math.Min(builder.Timeout, 5);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            throw SealpostException.Invalid($"Store:ConnectionString: {ex.Message}");
        }

        (DatabaseRole, string)? standby = null;
        foreach (var host in builder.Host?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [])
        {
            var one = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Host = host };
            try
            {
                await using var connection = new NpgsqlConnection(one.ConnectionString);
                await connection.OpenAsync(ct);
                await using var command = new NpgsqlCommand(
                    "SELECT pg_is_in_recovery(), extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8", connection);
                await using var reader = await command.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                if (!reader.GetBoolean(0))
                {
                    return (DatabaseRole.Primary, "read-write");
                }

                standby ??= (DatabaseRole.Standby, reader.IsDBNull(1)
                    ? "the store's database is a standby (in recovery; nothing replayed yet)"
                    : string.Create(CultureInfo.InvariantCulture, $"the store's database is a standby (in recovery; last transaction replayed {Math.Max(0, reader.GetDouble(1)):F1} s ago)"));
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                // this host does not answer; another may
            }
        }

        return standby ?? (DatabaseRole.Unreachable, "store unreachable: no host of Store:ConnectionString answers");
    }

    /// <summary>Advisory-lock class of the account leases ("SPRW"); the account id is the object.</summary>
    private const int AccountLeaseClass = 0x53505257;

    /// <summary>
    /// A session-level advisory lock on a connection held for the lease: PostgreSQL drops it if the node
    /// dies (its connection closes), so a lease never outlives its holder. Account ids beyond 2^31 share a
    /// lock with another account now and then: that only delays one of them to a later login.
    /// </summary>
    internal async Task<IAsyncDisposable?> TryLeaseAccountAsync(long accountId, CancellationToken ct)
    {
        var connection = await _dataSource.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", connection);
            command.Parameters.AddWithValue(AccountLeaseClass);
            command.Parameters.AddWithValue(unchecked((int)accountId));
            if ((bool)(await command.ExecuteScalarAsync(ct))!)
            {
                return new AdvisoryLease(connection, accountId);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            await connection.DisposeAsync();
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the store cannot be reached", ex);
        }

        await connection.DisposeAsync();
        return null;
    }

    private sealed class AdvisoryLease(NpgsqlConnection connection, long accountId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1, $2)", connection);
                command.Parameters.AddWithValue(AccountLeaseClass);
                command.Parameters.AddWithValue(unchecked((int)accountId));
                await command.ExecuteScalarAsync();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // the connection is gone, and the lock with it
            }

            await connection.DisposeAsync();
        }
    }

    public static async Task<PostgresStore> OpenAsync(string connectionString, bool migrate = true, CancellationToken ct = default)
    {
        NpgsqlDataSource dataSource;
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            if (builder.Timeout > 15)
            {
                builder.Timeout = 15; // fail fast when the database is away
            }

            // The store keeps no session state on pooled connections (LISTEN has its own), so the
            // DISCARD ALL that Npgsql sends on every return to the pool is a wasted round trip.
            builder.NoResetOnClose = true;

            // Every statement here is one of a few dozen fixed texts: let Npgsql prepare the frequent
            // ones on each pooled connection, so PostgreSQL parses and plans them once, not per call.
            if (builder.MaxAutoPrepare == 0)
            {
                builder.MaxAutoPrepare = 100;
                builder.AutoPrepareMinUsages = 2;
            }

            dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            // NotSupportedException: settings Npgsql refuses together (Target Session Attributes with one host).
            throw SealpostException.Invalid($"Store:ConnectionString: {ex.Message}");
        }

        var store = new PostgresStore(dataSource, new PostgresChangeFeed(dataSource), connectionString);
        try
        {
            if (migrate)
            {
                await store.MigrateAsync(ct);
            }

            store._feed.Start();
            // Wait (briefly) for LISTEN so notifications of this node's first commits are not missed;
            // if the database is slow, the feed catches up on its own and readers re-read by MODSEQ.
            await Task.WhenAny(store._feed.Listening.Task, Task.Delay(TimeSpan.FromSeconds(5), ct));
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    public Task MigrateAsync(CancellationToken cancellationToken = default) =>
        WriteAsync<int>(async (c, _) =>
        {
            await c.Execute("SELECT pg_advisory_xact_lock(7427001)");
            var version = await ReadVersionAsync(c);
            if (version > PostgresSchema.CurrentVersion)
            {
                throw new SealpostException(ErrorKind.Conflict,
                    $"the database has schema version {version}, newer than this program knows ({PostgresSchema.CurrentVersion}); upgrade sealpost");
            }

            for (var v = version; v < PostgresSchema.CurrentVersion; v++)
            {
                await c.Execute(PostgresSchema.Migrations[v]);
                await c.Execute("INSERT INTO meta(key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (v + 1).ToString(CultureInfo.InvariantCulture));
            }

            return 0;
        }, cancellationToken);

    public Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(async c => await ReadVersionAsync(c), cancellationToken);

    private static async Task<int> ReadVersionAsync(Cx c)
    {
        if (await c.Scalar("SELECT to_regclass('meta') IS NOT NULL") is not true)
        {
            return 0;
        }

        return await c.Scalar("SELECT value FROM meta WHERE key = 'schema_version'") is string s ? int.Parse(s, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Runs a write transaction, retrying serialisation failures and deadlocks; notifications go out on commit.</summary>
    internal async Task<T> WriteAsync<T>(Func<Cx, List<MailboxChanged>, Task<T>> operation, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(ct);
                await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
                var cx = new Cx(connection, transaction, ct);
                var notifications = new List<MailboxChanged>();
                var result = await operation(cx, notifications);
                foreach (var n in notifications.GroupBy(n => n.MailboxId)
                             .Select(g => new MailboxChanged(g.First().AccountId, g.Key, g.Max(x => x.HighestModSeq), g.Aggregate(ChangeKinds.None, (k, x) => k | x.Kinds))))
                {
                    await cx.Execute("SELECT pg_notify($1, $2)", NotifyChannel, PostgresChangeFeed.Encode(n));
                }

                await transaction.CommitAsync(ct);
                return result;
            }
            // 0A000 "cached plan must not change result type": another node migrated the schema under this
            // node's auto-prepared statements; Npgsql drops them on this error, so the retry re-prepares.
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.FeatureNotSupported && attempt < MaxAttempts)
            {
                await Task.Delay(Random.Shared.Next(5, 20 * attempt), ct);
            }
            catch (Exception ex) when (Map(ex) is { } mapped && !ReferenceEquals(mapped, ex))
            {
                throw mapped;
            }
        }
    }

    internal async Task<T> ReadAsync<T>(Func<Cx, Task<T>> read, CancellationToken ct)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct);
            return await read(new Cx(connection, null, ct));
        }
        catch (Exception ex) when (Map(ex) is { } mapped && !ReferenceEquals(mapped, ex))
        {
            throw mapped;
        }
    }

    /// <summary>Database errors as store errors: constraint violations are conflicts; an unreachable or restarting database is temporary.</summary>
    internal static Exception Map(Exception ex) => ex switch
    {
        SealpostException or OperationCanceledException => ex,
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.ForeignKeyViolation } p =>
            new SealpostException(ErrorKind.Conflict, "already exists or still in use", p),
        PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal) || p.SqlState.StartsWith("53", StringComparison.Ordinal) =>
            new SealpostException(ErrorKind.TemporarilyUnavailable, "the database is temporarily unavailable", p),
        NpgsqlException { InnerException: not PostgresException } or TimeoutException or System.Net.Sockets.SocketException or IOException =>
            new SealpostException(ErrorKind.TemporarilyUnavailable, "the database is temporarily unavailable", ex),
        _ => ex,
    };

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await Deliveries.DisposeAsync();
        await _feed.DisposeAsync();
        await _dataSource.DisposeAsync();
    }
}

/// <summary>A connection (and transaction, for writes) with terse helpers for positional parameters.</summary>
internal sealed class Cx(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken ct)
{
    public CancellationToken Token => ct;

    public NpgsqlCommand Command(string sql, params object?[] args)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        AddParameters(command.Parameters, args);
        return command;
    }

    /// <summary>Several statements sent in one round trip (each with its own parameters), in this transaction.</summary>
    public NpgsqlBatch Batch() => new(connection, transaction);

    public static NpgsqlBatchCommand BatchCommand(string sql, params object?[] args)
    {
        var command = new NpgsqlBatchCommand(sql);
        AddParameters(command.Parameters, args);
        return command;
    }

    private static void AddParameters(NpgsqlParameterCollection parameters, object?[] args)
    {
        foreach (var arg in args)
        {
            parameters.Add(arg is NpgsqlParameter p ? p : new NpgsqlParameter { Value = arg ?? DBNull.Value });
        }
    }

    public async Task<int> Execute(string sql, params object?[] args)
    {
        await using var command = Command(sql, args);
        return await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<object?> Scalar(string sql, params object?[] args)
    {
        await using var command = Command(sql, args);
        var value = await command.ExecuteScalarAsync(ct);
        return value is DBNull ? null : value;
    }

    public async Task<long> Long(string sql, params object?[] args) => Convert.ToInt64(await Scalar(sql, args), CultureInfo.InvariantCulture);

    public async Task<List<T>> All<T>(string sql, Func<NpgsqlDataReader, T> map, params object?[] args)
    {
        await using var command = Command(sql, args);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(map(reader));
        }

        return list;
    }

    public async Task<T?> One<T>(string sql, Func<NpgsqlDataReader, T> map, params object?[] args)
        where T : class => (await All(sql, map, args)).FirstOrDefault();

    /// <summary>A typed null (PostgreSQL cannot infer the type of an untyped null parameter in every position).</summary>
    public static NpgsqlParameter Null(NpgsqlTypes.NpgsqlDbType type) => new() { Value = DBNull.Value, NpgsqlDbType = type };

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}

/// <summary>What a store's database is to a node: <see cref="PostgresStore.DatabaseRoleAsync"/>.</summary>
public enum DatabaseRole
{
    Primary,
    Standby,
    Unreachable,
}
