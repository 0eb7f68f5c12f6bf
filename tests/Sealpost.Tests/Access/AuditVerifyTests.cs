using Microsoft.Data.Sqlite;
using Sealpost.Core.Audit;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Access;

/// <summary>
/// The attacker with every file of a node: on copies of a real audit store, each kind of tampering
/// is found by <c>sealpost audit verify</c> (non-zero exit, the record named), and the untouched
/// copy verifies.
/// </summary>
public sealed class AuditVerifyTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new("sealpost-audit");
    private CliRunner _cli = null!;
    private string _heads = null!;

    public async Task InitializeAsync()
    {
        _cli = new CliRunner(_folder.Sub("data"));
        await _cli.InitAsync();
        await _cli.OkAsync("domain", "add", "example.test");
        await _cli.OkWithInputAsync("first pass phrase\n", "user", "add", "alice@example.test");
        await _cli.OkWithInputAsync("second pass phrase\n", "user", "add", "bob@example.test");
        await _cli.OkAsync("alias", "add", "postmaster@example.test", "alice@example.test");
        await _cli.OkAsync("role", "grant", "bob@example.test", "auditor");
        _heads = Path.Combine(_folder.Path, "heads.jsonl");
        var head = await _cli.OkAsync("audit", "heads");
        await File.WriteAllTextAsync(_heads, head.Out);
        await _cli.OkAsync("user", "suspend", "bob@example.test");
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A copy of the data folder (and its master key) for one attack.</summary>
    private CliRunner Copy(string name)
    {
        var target = _folder.Sub("copy-" + name);
        foreach (var file in Directory.EnumerateFiles(_cli.DataDirectory, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(_cli.DataDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }

        File.Copy(TestOptions.MasterKeyFile(_cli.DataDirectory), TestOptions.MasterKeyFile(target));
        return new CliRunner(target);
    }

    private static async Task SqlAsync(CliRunner copy, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(copy.DataDirectory, SqliteAuditStore.FileName)};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task The_untouched_trail_verifies_against_its_heads()
    {
        var result = await _cli.OkAsync("audit", "verify", "--heads", _heads);
        Assert.Contains("verified", result.Out);
        Assert.Contains("every key version has its record", result.Out);
    }

    [Theory]
    [InlineData("changed field", "UPDATE audit_records SET target = 'mallory@example.test' WHERE seq = 3", "record 3 was changed")]
    [InlineData("deleted record", "DELETE FROM audit_records WHERE seq = 3", "record 3 is missing")]
    [InlineData("swapped records",
        "UPDATE audit_records SET seq = -1 WHERE seq = 3; UPDATE audit_records SET seq = 3 WHERE seq = 4; UPDATE audit_records SET seq = 4 WHERE seq = -1",
        "record 3 does not follow record 2")]
    [InlineData("truncated tail", "DELETE FROM audit_records WHERE seq > 5", "truncated")]
    public async Task Tampering_is_found_and_the_record_named(string attack, string sql, string expected)
    {
        var copy = Copy(attack.Replace(' ', '-'));
        await SqlAsync(copy, sql);
        var result = await copy.RunAsync("audit", "verify", "--heads", _heads);
        result.AssertCleanError(1, expected);
    }

    [Fact]
    public async Task A_chain_recomputed_after_the_export_is_found_by_the_exported_head()
    {
        var copy = Copy("recomputed");
        // The attacker rewrites record 3 (the default tenant made), recomputes every later hash and removes the signed
        // checkpoints it cannot forge: only the head kept outside the deployment can tell.
        await RecomputeAsync(copy, 3);
        await SqlAsync(copy, "DELETE FROM audit_checkpoints");
        var withoutHeads = await copy.RunAsync("audit", "verify");
        Assert.Equal(0, withoutHeads.ExitCode);
        var result = await copy.RunAsync("audit", "verify", "--heads", _heads);
        result.AssertCleanError(1, "differs from the exported head");
    }

    [Fact]
    public async Task A_chain_recomputed_under_a_stored_checkpoint_is_found_by_the_checkpoint()
    {
        var copy = Copy("recomputed-checkpoint");
        await RecomputeAsync(copy, 3);
        var result = await copy.RunAsync("audit", "verify");
        result.AssertCleanError(1, "differs from the stored checkpoint");
    }

    [Theory]
    [InlineData("account", "INSERT INTO account_keys SELECT account_id, version + 1, public_key, signature, created_at FROM account_keys WHERE version = (SELECT MAX(version) FROM account_keys) LIMIT 1")]
    [InlineData("recovery", "INSERT INTO recovery_keys SELECT version + 1, public_key, signature, created_at FROM recovery_keys")]
    public async Task A_key_version_added_outside_the_services_is_found(string kind, string sql)
    {
        var copy = Copy("key-added-" + kind);
        // A key version row with no KeyVersionCreated record (what a forged key would look like).
        await using (var connection = await SqliteFiles.OpenAsync(copy.DataDirectory))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }

        var result = await copy.RunAsync("audit", "verify");
        result.AssertCleanError(1, "has no audit record");
        Assert.Contains(kind, result.Err);
    }

    [Theory]
    [InlineData("no such file", "cannot read heads file")]
    [InlineData("garbage", "is not a heads file")]
    public async Task A_bad_heads_file_is_a_one_line_error(string kind, string expected)
    {
        var path = Path.Combine(_folder.Path, "bad-heads");
        if (kind == "garbage")
        {
            await File.WriteAllTextAsync(path, "{not json\n");
        }

        var result = await _cli.RunAsync("audit", "verify", "--heads", path);
        result.AssertCleanError(1, expected);
    }

    private static async Task RecomputeAsync(CliRunner copy, long from)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(copy.DataDirectory, SqliteAuditStore.FileName)};Pooling=False");
        await connection.OpenAsync();
        var records = new List<AuditRecord>();
        await using (var read = connection.CreateCommand())
        {
            read.CommandText = $"SELECT {AuditRows.Columns} FROM audit_records ORDER BY seq";
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                records.Add(AuditRows.Read(reader));
            }
        }

        var previous = records.First(r => r.Sequence == from - 1).Hash;
        foreach (var r in records.Where(r => r.Sequence >= from))
        {
            var e = r.Sequence == from ? r.Event with { Target = "mallory.example" } : r.Event;
            var hash = AuditRecord.ComputeHash(r.Sequence, r.Node, e, previous);
            await using var write = connection.CreateCommand();
            write.CommandText = "UPDATE audit_records SET target = $t, prev_hash = $p, hash = $h WHERE seq = $s";
            write.Parameters.AddWithValue("$t", (object?)e.Target ?? DBNull.Value);
            write.Parameters.AddWithValue("$p", previous);
            write.Parameters.AddWithValue("$h", hash);
            write.Parameters.AddWithValue("$s", r.Sequence);
            await write.ExecuteNonQueryAsync();
            previous = hash;
        }
    }
}
