using Npgsql;
using Sealpost.Core;
using Sealpost.Core.Audit;

namespace Sealpost.Store.Postgres;

/// <summary>
/// The audit trail of a PostgreSQL deployment: its own database in the same cluster (so the DR
/// standby carries it), created on first use if the login may. Appends from every node take one
/// transaction-level advisory lock, so there is one chain with no gaps; triggers refuse UPDATE,
/// DELETE and TRUNCATE, and a login with only INSERT and SELECT on the two tables is all a node
/// needs (docs/operations.md).
/// </summary>
public sealed class PostgresAuditStore : IAuditStore
{
    private const long ChainLock = 0x5EA1_A0D1;
    private readonly NpgsqlDataSource _dataSource;

    // The head this store instance last appended: while no other node appends, the next batch is
    // chained onto it and sent in one round trip, guarded so it inserts nothing if the head moved.
    private volatile ChainHead? _lastHead;

    private PostgresAuditStore(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <summary>The store's connection string with the database name suffixed "_audit".</summary>
    public static string DeriveConnectionString(string storeConnectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(storeConnectionString);
        builder.Database = (builder.Database ?? builder.Username ?? "sealpost") + "_audit";
        return builder.ConnectionString;
    }

    public static async Task<PostgresAuditStore> OpenAsync(string connectionString, int busyTimeoutMilliseconds, CancellationToken ct = default)
    {
        NpgsqlDataSource dataSource;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
            builder.Timeout = Math.Clamp(busyTimeoutMilliseconds / 1000, 1, 15);
            builder.CommandTimeout = Math.Max(1, busyTimeoutMilliseconds / 1000);
            builder.NoResetOnClose = true;
            // The same few statements for every append: prepared once per connection, not parsed and planned each time.
            if (builder.MaxAutoPrepare == 0)
            {
                builder.MaxAutoPrepare = 16;
                builder.AutoPrepareMinUsages = 2;
            }
            dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            throw SealpostException.Invalid($"Audit:ConnectionString: {ex.Message}");
        }

        var store = new PostgresAuditStore(dataSource);
        try
        {
            await store.MigrateAsync(ct);
        }
        catch (PostgresException ex) when (ex.SqlState == "3D000")
        {
            await CreateDatabaseAsync(builder, ct);
            await store.MigrateAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            await store.DisposeAsync();
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit database cannot be reached", ex);
        }

        return store;
    }

    private static async Task CreateDatabaseAsync(NpgsqlConnectionStringBuilder audit, CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder(audit.ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE \"{audit.Database!.Replace("\"", "\"\"")}\"";
        try
        {
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException ex) when (ex.SqlState == "42P04")
        {
            // Another node created it first.
        }
    }

    private async Task MigrateAsync(CancellationToken ct)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT pg_advisory_lock(1397900100);
            CREATE TABLE IF NOT EXISTS audit_records (
                seq bigint PRIMARY KEY,
                time_ms bigint NOT NULL,
                node text NOT NULL,
                actor text NOT NULL,
                role text NOT NULL,
                source text,
                protocol text NOT NULL,
                action text NOT NULL,
                target text,
                outcome text NOT NULL,
                detail text,
                correlation text NOT NULL,
                prev_hash bytea NOT NULL,
                hash bytea NOT NULL);
            CREATE INDEX IF NOT EXISTS audit_by_time ON audit_records(time_ms);
            CREATE TABLE IF NOT EXISTS audit_checkpoints (
                seq bigint NOT NULL,
                hash bytea NOT NULL,
                time_ms bigint NOT NULL,
                node text NOT NULL,
                public_key bytea NOT NULL,
                signature bytea NOT NULL);
            CREATE TABLE IF NOT EXISTS audit_spool_drains (
                spool_key bytea PRIMARY KEY,
                time_ms bigint NOT NULL);
            CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN
                    -- Archiving (sealpost audit archive) deletes archived records inside its own transaction.
                    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_records' AND current_setting('sealpost.audit_archive', true) = 'on' THEN
                        RETURN OLD;
                    END IF;
                    RAISE EXCEPTION 'the audit trail is append-only';
                END $$;
            DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records;
            CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_append_only();
            DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records;
            CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
            DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints;
            CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_append_only();
            DROP TRIGGER IF EXISTS audit_spool_drains_append_only ON audit_spool_drains;
            CREATE TRIGGER audit_spool_drains_append_only BEFORE UPDATE OR DELETE ON audit_spool_drains FOR EACH ROW EXECUTE FUNCTION audit_append_only();
            SELECT pg_advisory_unlock(1397900100);
            """;
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<AuditRecord>> AppendAsync(string node, IReadOnlyList<AuditEvent> events, CancellationToken ct = default) =>
        (await AppendCoreAsync(node, events, null, ct))!;

    public async Task<bool> AppendSpooledAsync(string node, IReadOnlyList<AuditEvent> events, byte[] spoolKey, CancellationToken ct = default) =>
        await AppendCoreAsync(node, events, spoolKey, ct) is not null;

    /// <summary>The records appended; null when <paramref name="spoolKey"/> names a spooled batch already in the trail.</summary>
    private async Task<IReadOnlyList<AuditRecord>?> AppendCoreAsync(string node, IReadOnlyList<AuditEvent> events, byte[]? spoolKey, CancellationToken ct)
    {
        if (spoolKey is null && _lastHead is { } head)
        {
            var chained = await TryAppendOnHeadAsync(node, events, head, ct);
            if (chained is not null)
            {
                return chained;
            }
        }

        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            long seq = 0;
            var previous = AuditRecord.GenesisHash;
            // One round trip: the chain lock, the commit mode, and the head read under the lock.
            // Logins, deliveries and refusals commit without waiting for the WAL flush (they survive
            // this node being killed; PostgreSQL flushes them within wal_writer_delay); a batch with an
            // administrative record waits for it.
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)") { Parameters = { new() { Value = ChainLock } } });
                batch.BatchCommands.Add(new NpgsqlBatchCommand(events.All(e => AuditActions.IsHighVolume(e.Action)) ? "SET LOCAL synchronous_commit = off" : "SET LOCAL synchronous_commit = on"));
                batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1"));
                await using var reader = await batch.ExecuteReaderAsync(ct);
                while (await reader.NextResultAsync(ct) && reader.FieldCount != 2)
                {
                }

                if (reader.FieldCount == 2 && await reader.ReadAsync(ct))
                {
                    seq = reader.GetInt64(0);
                    previous = (byte[])reader[1];
                }
            }

            if (spoolKey is not null)
            {
                // Under the chain lock: a second drain of the same batch finds the first one's key.
                await using var drained = new NpgsqlCommand("INSERT INTO audit_spool_drains (spool_key, time_ms) VALUES ($1, $2) ON CONFLICT (spool_key) DO NOTHING", connection, transaction);
                drained.Parameters.AddWithValue(spoolKey);
                drained.Parameters.AddWithValue(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                if (await drained.ExecuteNonQueryAsync(ct) == 0)
                {
                    return null;
                }
            }

            var records = Chain(node, events, seq, previous);
            await using (var insert = new NpgsqlCommand(InsertRecords, connection, transaction))
            {
                AddRecordParameters(insert.Parameters, records);
                await insert.ExecuteNonQueryAsync(ct);
            }

            await transaction.CommitAsync(ct);
            _lastHead = new ChainHead(records[^1].Sequence, records[^1].Hash);
            return records;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            _lastHead = null;
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
    }

    // One statement for the batch: arrays unnested server-side.
    private const string InsertRecords = """
        INSERT INTO audit_records (seq, time_ms, node, actor, role, source, protocol, action, target, outcome, detail, correlation, prev_hash, hash)
        SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bytea[])
        """;

    /// <summary>
    /// The single-round-trip append: BEGIN, the chain lock, the commit mode, the insert and COMMIT in
    /// one batch. The insert is guarded by the head this instance last wrote (under the lock, each
    /// statement sees every append committed before it; the head is read through the primary key's
    /// index, as the other path reads it), so when another node appended meanwhile it inserts nothing
    /// and the caller takes the path that reads the head. Null then.
    /// </summary>
    private async Task<IReadOnlyList<AuditRecord>?> TryAppendOnHeadAsync(string node, IReadOnlyList<AuditEvent> events, ChainHead head, CancellationToken ct)
    {
        var records = Chain(node, events, head.Sequence, head.Hash);
        NpgsqlConnection? connection = null;
        try
        {
            connection = await _dataSource.OpenConnectionAsync(ct);
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)") { Parameters = { new() { Value = ChainLock } } });
            batch.BatchCommands.Add(new NpgsqlBatchCommand(events.All(e => AuditActions.IsHighVolume(e.Action)) ? "SET LOCAL synchronous_commit = off" : "SET LOCAL synchronous_commit = on"));
            var insert = new NpgsqlBatchCommand(InsertRecords + """

                WHERE (SELECT seq = $15 AND hash = $16 FROM audit_records ORDER BY seq DESC LIMIT 1)
                """);
            AddRecordParameters(insert.Parameters, records);
            insert.Parameters.Add(new() { Value = head.Sequence });
            insert.Parameters.Add(new() { Value = head.Hash });
            batch.BatchCommands.Add(insert);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            await batch.ExecuteNonQueryAsync(ct);
            if (insert.RecordsAffected != records.Count)
            {
                _lastHead = null;
                return null;
            }

            _lastHead = new ChainHead(records[^1].Sequence, records[^1].Hash);
            return records;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            _lastHead = null;
            if (connection is { State: System.Data.ConnectionState.Open })
            {
                // A failed statement leaves the explicit transaction open; end it before the pool reuses the connection.
                try
                {
                    await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
                    await rollback.ExecuteNonQueryAsync(CancellationToken.None);
                }
                catch (Exception rollbackFailed) when (rollbackFailed is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                }
            }

            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private sealed record ChainHead(long Sequence, byte[] Hash);

    private static List<AuditRecord> Chain(string node, IReadOnlyList<AuditEvent> events, long seq, byte[] previous)
    {
        var records = new List<AuditRecord>(events.Count);
        foreach (var raw in events)
        {
            var e = raw with { Time = DateTimeOffset.FromUnixTimeMilliseconds(raw.Time.ToUnixTimeMilliseconds()) };
            seq++;
            var hash = AuditRecord.ComputeHash(seq, node, e, previous);
            records.Add(new AuditRecord(seq, node, e, previous, hash));
            previous = hash;
        }

        return records;
    }

    private static void AddRecordParameters(NpgsqlParameterCollection parameters, List<AuditRecord> records)
    {
        parameters.AddWithValue(records.Select(r => r.Sequence).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Time.ToUnixTimeMilliseconds()).ToArray());
        parameters.AddWithValue(records.Select(r => r.Node).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Actor).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Role).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Source).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Protocol).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Action.ToString()).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Target).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Outcome.ToString()).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.Detail).ToArray());
        parameters.AddWithValue(records.Select(r => r.Event.CorrelationId).ToArray());
        parameters.AddWithValue(records.Select(r => r.PreviousHash).ToArray());
        parameters.AddWithValue(records.Select(r => r.Hash).ToArray());
    }

    public Task BackupToAsync(string file, CancellationToken ct = default) => throw PostgresStore.BackupRefused();

    public Task<IReadOnlyList<AuditRecord>> ReadAsync(long fromSequence, int limit, CancellationToken ct = default) =>
        QueryAsync("WHERE seq >= $1 ORDER BY seq LIMIT $2", [fromSequence, (long)limit], ct);

    public Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct = default)
    {
        var where = new List<string> { "seq > $1" };
        var args = new List<object> { query.AfterSequence };
        void Add(string column, string op, object value)
        {
            args.Add(value);
            where.Add($"{column} {op} ${args.Count}");
        }

        if (query.Actor is not null) Add("actor", "=", query.Actor);
        if (query.Action is not null) Add("action", "=", query.Action.Value.ToString());
        if (query.Target is not null) Add("target", "=", query.Target);
        if (query.Since is not null) Add("time_ms", ">=", query.Since.Value.ToUnixTimeMilliseconds());
        if (query.Until is not null) Add("time_ms", "<", query.Until.Value.ToUnixTimeMilliseconds());
        args.Add((long)query.Limit);
        return QueryAsync("WHERE " + string.Join(" AND ", where) + $" ORDER BY seq LIMIT ${args.Count}", args, ct);
    }

    public async Task<AuditRecord?> GetHeadAsync(CancellationToken ct = default) =>
        (await QueryAsync("ORDER BY seq DESC LIMIT 1", [], ct)).FirstOrDefault();

    public async Task AddCheckpointAsync(AuditCheckpoint c, CancellationToken ct = default)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("INSERT INTO audit_checkpoints (seq, hash, time_ms, node, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6)");
            command.Parameters.AddWithValue(c.Sequence);
            command.Parameters.AddWithValue(c.Hash);
            command.Parameters.AddWithValue(c.Time.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue(c.Node);
            command.Parameters.AddWithValue(c.PublicKey);
            command.Parameters.AddWithValue(c.Signature);
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
    }

    public async Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct = default)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT seq, hash, time_ms, node, public_key, signature FROM audit_checkpoints ORDER BY seq, time_ms");
            await using var reader = await command.ExecuteReaderAsync(ct);
            var list = new List<AuditCheckpoint>();
            while (await reader.ReadAsync(ct))
            {
                list.Add(new AuditCheckpoint(reader.GetInt64(0), (byte[])reader[1], DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3), (byte[])reader[4], (byte[])reader[5]));
            }

            return list;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
    }

    public async Task PruneThroughAsync(long throughSequence, CancellationToken ct = default)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using (var allow = new NpgsqlCommand("SET LOCAL sealpost.audit_archive = 'on'", connection, transaction))
            {
                await allow.ExecuteNonQueryAsync(ct);
            }

            await using (var delete = new NpgsqlCommand("DELETE FROM audit_records WHERE seq <= $1", connection, transaction))
            {
                delete.Parameters.AddWithValue(throughSequence);
                await delete.ExecuteNonQueryAsync(ct);
            }

            await transaction.CommitAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable (archiving needs a login allowed to delete)", ex);
        }
    }

    public async Task ProbeAsync(CancellationToken ct = default)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
    }

    private async Task<IReadOnlyList<AuditRecord>> QueryAsync(string tail, IReadOnlyList<object> args, CancellationToken ct)
    {
        try
        {
            await using var command = _dataSource.CreateCommand($"SELECT {AuditRows.Columns} FROM audit_records " + tail);
            foreach (var value in args)
            {
                command.Parameters.AddWithValue(value);
            }

            await using var reader = await command.ExecuteReaderAsync(ct);
            var list = new List<AuditRecord>();
            while (await reader.ReadAsync(ct))
            {
                list.Add(AuditRows.Read(reader));
            }

            return list;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, "the audit store is unavailable", ex);
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
