using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Sealpost.Store.Sqlite;

/// <summary>
/// The store's read connections, kept open and reused, each with its statements prepared once.
/// Microsoft.Data.Sqlite's own pool keeps the native handle but finalizes every statement when a
/// connection is handed back, so each read used to parse and plan its SQL again and to run the
/// connection's set-up PRAGMA: under imaptest's kept-open profile that was several percent of the one
/// core the server had. A rented connection serves one read at a time (a read is synchronous), so its
/// statement table needs no lock. A read that failed returns its connection closed, not to the pool.
/// </summary>
internal sealed class SqliteReaders(string connectionString) : IDisposable
{
    /// <summary>Idle connections kept beyond this many are closed (reads run on the thread pool's threads).</summary>
    private const int MaxIdle = 32;

    /// <summary>Distinct statement texts kept prepared per connection; texts beyond it get a command per use.</summary>
    private const int MaxStatements = 256;

    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Statements = new();
    private readonly ConcurrentBag<SqliteConnection> _idle = [];
    private volatile bool _disposed;

    public SqliteConnection Rent()
    {
        if (_idle.TryTake(out var connection))
        {
            return connection;
        }

        connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            // No memory map (SQLite's default, mmap_size=0): a read transaction that starts after any commit
            // unmaps the whole database (pager_reset, then sqlite3OsUnfetch) and faults every page it touches
            // back in; under imaptest's kept-open profile (a commit every few milliseconds) that munmap and
            // those faults were ~7% of the server's core. read() into the page cache costs less there; in a
            // 100,000-message mailbox the first SEARCH is unchanged and a plain SELECT takes ~8 ms more (46 ms).
            SqliteStore.AttachKeys(connection);
            Statements.Add(connection, new Dictionary<string, SqliteCommand>(StringComparer.Ordinal));
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Return(SqliteConnection connection, bool healthy)
    {
        if (healthy && !_disposed && _idle.Count < MaxIdle)
        {
            _idle.Add(connection);
            if (_disposed)
            {
                Dispose(); // the store closed while this read ran: drain again
            }

            return;
        }

        Close(connection);
    }

    /// <summary>
    /// A command for <paramref name="sql"/> on <paramref name="connection"/>: the one kept prepared when the
    /// connection is a pooled reader (parameters cleared, no transaction), a new one otherwise.
    /// </summary>
    public static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        if (Statements.TryGetValue(connection, out var statements))
        {
            if (statements.TryGetValue(sql, out var cached))
            {
                cached.Parameters.Clear();
                cached.Transaction = null;
                return cached;
            }

            if (statements.Count < MaxStatements)
            {
                var command = connection.CreateCommand();
                command.CommandText = sql;
                statements[sql] = command;
                return command;
            }
        }

        var single = connection.CreateCommand();
        single.CommandText = sql;
        return single;
    }

    private static void Close(SqliteConnection connection)
    {
        if (Statements.TryGetValue(connection, out var statements))
        {
            foreach (var command in statements.Values)
            {
                command.Dispose();
            }

            Statements.Remove(connection);
        }

        connection.Dispose();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var connection))
        {
            Close(connection);
        }
    }
}
