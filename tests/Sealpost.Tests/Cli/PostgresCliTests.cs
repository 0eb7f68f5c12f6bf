using Npgsql;
using Sealpost.Store.Postgres;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>The same commands against PostgreSQL: chosen by configuration alone.</summary>
public sealed class PostgresCliTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Migrate_init_and_users_work_on_postgres()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connection = await cluster.CreateDatabaseAsync();
        var cli = new CliRunner(_folder.Sub("data"));
        string[] pg = ["--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + connection];

        var migrated = await cli.OkAsync(["migrate", .. pg]);
        Assert.Contains($"Store postgres is at schema version {PostgresSchema.CurrentVersion}.", migrated.Out);
        var again = await cli.OkAsync(["migrate", .. pg]); // idempotent
        Assert.Contains($"schema version {PostgresSchema.CurrentVersion}", again.Out);

        var (recovery, _) = TestOptions.RecoveryKey(_folder.Path);
        await cli.OkAsync(["init", "--recovery-public-key", recovery, "--unseal", "file", .. pg]);
        await cli.OkAsync(["domain", "add", "example.test", .. pg]);
        await cli.OkWithInputAsync("correct horse battery\n", ["user", "add", "alice@example.test", .. pg]);
        Assert.Contains("alice@example.test", (await cli.OkAsync(["user", "list", .. pg])).Out);

        // Nothing of the account lives in the SQLite file any more: the data folder holds no database.
        Assert.False(File.Exists(Path.Combine(cli.DataDirectory, "sealpost.db")));
        await using var check = new NpgsqlConnection(connection);
        await check.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM mailboxes", check);
        Assert.Equal(6L, (long)(await count.ExecuteScalarAsync())!);

        (await cli.RunAsync(["user", "list", "--set", "Store:Kind=postgres"])).AssertCleanError(1, "Store:ConnectionString");
        (await cli.RunAsync(["user", "list", "--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=Host=127.0.0.1;Port=1;Timeout=1;Username=x;Password=y"])).AssertCleanError(1, "temporarily unavailable");
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Target Session Attributes=read-write")] // Npgsql allows it only with several hosts
    [InlineData("Host=127.0.0.1;Target Session Attributes=sometimes")]
    [InlineData("Host=127.0.0.1;Port=eleven")]
    [InlineData("Host=127.0.0.1;No Such Setting=1")]
    public async Task A_connection_string_npgsql_refuses_is_a_one_line_configuration_error(string connection)
    {
        var cli = new CliRunner(_folder.Sub("data"));
        (await cli.RunAsync(["migrate", "--set", "Store:Kind=postgres", "--set", "Store:ConnectionString=" + connection])).AssertCleanError(1, "Store:ConnectionString");
    }

    public static TheoryData<int> EarlierVersions()
    {
        var data = new TheoryData<int>();
        for (var v = 1; v < PostgresSchema.CurrentVersion; v++)
        {
            data.Add(v);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EarlierVersions))]
    public async Task A_postgres_database_at_an_earlier_version_migrates(int version)
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connection = await cluster.CreateDatabaseAsync();
        await using (var c = new NpgsqlConnection(connection))
        {
            await c.OpenAsync();
            for (var v = 0; v < version; v++)
            {
                await using var migrate = new NpgsqlCommand(PostgresSchema.Migrations[v], c);
                await migrate.ExecuteNonQueryAsync();
            }

            await using var mark = new NpgsqlCommand($"INSERT INTO meta(key, value) VALUES ('schema_version', '{version}'); INSERT INTO tenants(name, display_name, created_at) VALUES ('old', 'Old', 0)", c);
            await mark.ExecuteNonQueryAsync();
        }

        await using var store = await PostgresStore.OpenAsync(connection);
        Assert.Equal(PostgresSchema.CurrentVersion, await store.GetSchemaVersionAsync());
        Assert.NotNull(await store.Directory.FindTenantAsync("old"));
        Assert.True(await store.Queue.EnqueueAsync(_ => [1], 1, DateTimeOffset.UtcNow) > 0);
    }

    [Fact]
    public async Task An_empty_postgres_database_migrates_and_a_newer_one_is_refused()
    {
        var cluster = await PostgresCluster.SharedAsync();
        var connection = await cluster.CreateDatabaseAsync();
        await using (var store = await PostgresStore.OpenAsync(connection))
        {
            Assert.Equal(PostgresSchema.CurrentVersion, await store.GetSchemaVersionAsync());
        }

        await using (var c = new NpgsqlConnection(connection))
        {
            await c.OpenAsync();
            await using var bump = new NpgsqlCommand("UPDATE meta SET value = '999' WHERE key = 'schema_version'", c);
            await bump.ExecuteNonQueryAsync();
        }

        var refused = await Assert.ThrowsAsync<Sealpost.Core.SealpostException>(() => PostgresStore.OpenAsync(connection));
        Assert.Contains("newer than this program", refused.Message);
    }
}
