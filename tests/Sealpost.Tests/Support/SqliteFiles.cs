using Microsoft.Data.Sqlite;
using Sealpost.Store.Sqlite;

namespace Sealpost.Tests.Support;

/// <summary>A data folder's SQLite files opened as an operator with root would: the mail database with keys.db attached.</summary>
public static class SqliteFiles
{
    public static async Task<SqliteConnection> OpenAsync(string dataDirectory, bool readOnly = false)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, SqliteStore.DatabaseFileName)};Pooling=False" + (readOnly ? ";Mode=ReadOnly" : ""));
        await connection.OpenAsync();
        await using var attach = connection.CreateCommand();
        attach.CommandText = "ATTACH DATABASE $path AS keys";
        attach.Parameters.AddWithValue("$path", Path.Combine(dataDirectory, SqliteStore.KeysFileName));
        await attach.ExecuteNonQueryAsync();
        return connection;
    }
}
