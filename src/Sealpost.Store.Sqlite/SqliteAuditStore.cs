using Microsoft.Data.Sqlite;
using Sealpost.Core;
using Sealpost.Core.Audit;

namespace Sealpost.Store.Sqlite;

/// <summary>
/// The audit trail of an embedded deployment: DATA/audit.db, its own SQLite file apart from the mail
/// store (WAL). A batch that holds an administrative record commits with synchronous=FULL (on disk
/// when it returns); batches of logins and deliveries commit with synchronous=NORMAL (in the WAL
/// file: they survive the process being killed, and reach the disk at the next full commit or
/// checkpoint). Appends take the database's write lock (BEGIN IMMEDIATE), so the server and a CLI
/// command append to one chain without gaps.
/// </summary>
public sealed class SqliteAuditStore : IAuditStore
{
    public const string FileName = "audit.db";

    private readonly SqliteConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteCommand? _head;
    private SqliteCommand? _insert;
    private bool _full;

    private SqliteAuditStore(SqliteConnection connection) => _connection = connection;

    public static async Task<SqliteAuditStore> OpenAsync(string dataDirectory, int busyTimeoutMilliseconds, CancellationToken ct = default)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, FileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = Math.Max(1, busyTimeoutMilliseconds / 1000),
        }.ToString());
        try
        {
            await connection.OpenAsync(ct);
            await Execute(connection, $"""
                PRAGMA busy_timeout = {busyTimeoutMilliseconds};
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                PRAGMA wal_autocheckpoint = 10000;
                CREATE TABLE IF NOT EXISTS audit_records (
                    seq INTEGER PRIMARY KEY,
                    time_ms INTEGER NOT NULL,
                    node TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    role TEXT NOT NULL,
                    source TEXT,
                    protocol TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT,
                    outcome TEXT NOT NULL,
                    detail TEXT,
                    correlation TEXT NOT NULL,
                    prev_hash BLOB NOT NULL,
                    hash BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS audit_by_time ON audit_records(time_ms);
                CREATE TABLE IF NOT EXISTS audit_checkpoints (
                    seq INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    time_ms INTEGER NOT NULL,
                    node TEXT NOT NULL,
                    public_key BLOB NOT NULL,
                    signature BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS audit_spool_drains (
                    spool_key BLOB PRIMARY KEY,
                    time_ms INTEGER NOT NULL);
                """, ct);
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync();
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"the audit store cannot be opened: {ex.Message}", ex);
        }

        return new SqliteAuditStore(connection);
    }

    public async Task<IReadOnlyList<AuditRecord>> AppendAsync(string node, IReadOnlyList<AuditEvent> events, CancellationToken ct = default) =>
        (await AppendCoreAsync(node, events, null, ct))!;

    public async Task<bool> AppendSpooledAsync(string node, IReadOnlyList<AuditEvent> events, byte[] spoolKey, CancellationToken ct = default) =>
        await AppendCoreAsync(node, events, spoolKey, ct) is not null;

    /// <summary>The records appended; null when <paramref name="spoolKey"/> names a spooled batch already in the trail.</summary>
    private async Task<IReadOnlyList<AuditRecord>?> AppendCoreAsync(string node, IReadOnlyList<AuditEvent> events, byte[]? spoolKey, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var full = events.Any(e => !AuditActions.IsHighVolume(e.Action));
            if (full != _full)
            {
                await Execute(_connection, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", ct);
                _full = full;
            }

            // BEGIN IMMEDIATE: the head is read under the write lock, so two writers cannot fork the chain.
            await using var transaction = _connection.BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: false);
            if (spoolKey is not null && !await RecordSpoolKeyAsync(transaction, spoolKey, ct))
            {
                return null;
            }

            long seq = 0;
            var previous = AuditRecord.GenesisHash;
            // Both statements stay prepared for the connection's life: a batch pays for rows, not parsing.
            _head ??= Prepare("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1");
            _head.Transaction = transaction;
            await using (var reader = await _head.ExecuteReaderAsync(ct))
            {
                if (await reader.ReadAsync(ct))
                {
                    seq = reader.GetInt64(0);
                    previous = (byte[])reader[1];
                }
            }

            var records = new List<AuditRecord>(events.Count);
            var insert = _insert ??= PrepareInsert();
            insert.Transaction = transaction;
            var p = insert.Parameters;
            foreach (var raw in events)
            {
                var e = raw with { Time = DateTimeOffset.FromUnixTimeMilliseconds(raw.Time.ToUnixTimeMilliseconds()) };
                seq++;
                var hash = AuditRecord.ComputeHash(seq, node, e, previous);
                p[0].Value = seq;
                p[1].Value = e.Time.ToUnixTimeMilliseconds();
                p[2].Value = node;
                p[3].Value = e.Actor;
                p[4].Value = e.Role;
                p[5].Value = (object?)e.Source ?? DBNull.Value;
                p[6].Value = e.Protocol;
                p[7].Value = e.Action.ToString();
                p[8].Value = (object?)e.Target ?? DBNull.Value;
                p[9].Value = e.Outcome.ToString();
                p[10].Value = (object?)e.Detail ?? DBNull.Value;
                p[11].Value = e.CorrelationId;
                p[12].Value = previous;
                p[13].Value = hash;
                await insert.ExecuteNonQueryAsync(ct);
                records.Add(new AuditRecord(seq, node, e, previous, hash));
                previous = hash;
            }

            await transaction.CommitAsync(ct);
            return records;
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task BackupToAsync(string file, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            using var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
            copy.Open();
            _connection.BackupDatabase(copy);
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<IReadOnlyList<AuditRecord>> ReadAsync(long fromSequence, int limit, CancellationToken ct = default) =>
        QueryAsync("WHERE seq >= $from ORDER BY seq LIMIT $limit", [("$from", fromSequence), ("$limit", limit)], ct);

    public Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct = default)
    {
        var where = new List<string> { "seq > $after" };
        var args = new List<(string, object)> { ("$after", query.AfterSequence), ("$limit", query.Limit) };
        if (query.Actor is not null) { where.Add("actor = $actor"); args.Add(("$actor", query.Actor)); }
        if (query.Action is not null) { where.Add("action = $action"); args.Add(("$action", query.Action.Value.ToString())); }
        if (query.Target is not null) { where.Add("target = $target"); args.Add(("$target", query.Target)); }
        if (query.Since is not null) { where.Add("time_ms >= $since"); args.Add(("$since", query.Since.Value.ToUnixTimeMilliseconds())); }
        if (query.Until is not null) { where.Add("time_ms < $until"); args.Add(("$until", query.Until.Value.ToUnixTimeMilliseconds())); }
        return QueryAsync("WHERE " + string.Join(" AND ", where) + " ORDER BY seq LIMIT $limit", args, ct);
    }

    public async Task<AuditRecord?> GetHeadAsync(CancellationToken ct = default) =>
        (await QueryAsync("ORDER BY seq DESC LIMIT 1", [], ct)).FirstOrDefault();

    public async Task AddCheckpointAsync(AuditCheckpoint c, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = "INSERT INTO audit_checkpoints (seq, hash, time_ms, node, public_key, signature) VALUES ($seq, $hash, $time, $node, $pk, $sig)";
            command.Parameters.AddWithValue("$seq", c.Sequence);
            command.Parameters.AddWithValue("$hash", c.Hash);
            command.Parameters.AddWithValue("$time", c.Time.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$node", c.Node);
            command.Parameters.AddWithValue("$pk", c.PublicKey);
            command.Parameters.AddWithValue("$sig", c.Signature);
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = "SELECT seq, hash, time_ms, node, public_key, signature FROM audit_checkpoints ORDER BY seq, time_ms";
            await using var reader = await command.ExecuteReaderAsync(ct);
            var list = new List<AuditCheckpoint>();
            while (await reader.ReadAsync(ct))
            {
                list.Add(new AuditCheckpoint(reader.GetInt64(0), (byte[])reader[1], DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3), (byte[])reader[4], (byte[])reader[5]));
            }

            return list;
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task PruneThroughAsync(long throughSequence, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM audit_records WHERE seq <= $s";
            command.Parameters.AddWithValue("$s", throughSequence);
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task ProbeAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            using var transaction = _connection.BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: false);
            transaction.Rollback();
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IReadOnlyList<AuditRecord>> QueryAsync(string tail, IReadOnlyList<(string Name, object Value)> args, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = "SELECT seq, time_ms, node, actor, role, source, protocol, action, target, outcome, detail, correlation, prev_hash, hash FROM audit_records " + tail;
            foreach (var (name, value) in args)
            {
                command.Parameters.AddWithValue(name, value);
            }

            await using var reader = await command.ExecuteReaderAsync(ct);
            var list = new List<AuditRecord>();
            while (await reader.ReadAsync(ct))
            {
                list.Add(AuditRows.Read(reader));
            }

            return list;
        }
        catch (SqliteException ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Records a spooled batch's key in the append's transaction; false if it is there already.</summary>
    private async Task<bool> RecordSpoolKeyAsync(SqliteTransaction transaction, byte[] spoolKey, CancellationToken ct)
    {
        await using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO audit_spool_drains (spool_key, time_ms) VALUES ($key, $time) ON CONFLICT (spool_key) DO NOTHING";
        command.Parameters.AddWithValue("$key", spoolKey);
        command.Parameters.AddWithValue("$time", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    private SqliteCommand Prepare(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private SqliteCommand PrepareInsert()
    {
        var insert = Prepare("""
            INSERT INTO audit_records (seq, time_ms, node, actor, role, source, protocol, action, target, outcome, detail, correlation, prev_hash, hash)
            VALUES ($seq, $time, $node, $actor, $role, $source, $protocol, $action, $target, $outcome, $detail, $correlation, $prev, $hash)
            """);
        foreach (var name in new[] { "seq", "time", "node", "actor", "role", "source", "protocol", "action", "target", "outcome", "detail", "correlation", "prev", "hash" })
        {
            insert.Parameters.Add(new SqliteParameter("$" + name, null));
        }

        return insert;
    }

    private static async Task Execute(SqliteConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        _head?.Dispose();
        _insert?.Dispose();
        await _connection.DisposeAsync();
        _gate.Dispose();
    }
}
