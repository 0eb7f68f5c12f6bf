using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sealpost.Core.Audit;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Access;

/// <summary>
/// Retention: old records move into an archive file behind a signed boundary; the live trail still
/// verifies (against heads exported before and after), the archive verifies on its own, and a
/// record removed after the boundary is still found.
/// </summary>
public sealed class AuditArchiveTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new("sealpost-archive");
    private CliRunner _cli = null!;

    public async Task InitializeAsync()
    {
        _cli = new CliRunner(_folder.Sub("data"));
        await _cli.InitAsync();
        await _cli.OkAsync("domain", "add", "example.test");
        await _cli.OkWithInputAsync("first pass phrase\n", "user", "add", "alice@example.test");
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    private async Task<IReadOnlyList<AuditRecord>> LiveRecordsAsync()
    {
        await using var store = await SqliteAuditStore.OpenAsync(_cli.DataDirectory, 5000);
        return await store.ReadAsync(1, 10_000);
    }

    private async Task<DateTimeOffset> BoundaryAfterEverythingSoFarAsync()
    {
        var boundary = (await LiveRecordsAsync())[^1].Event.Time.AddMilliseconds(1);
        while (DateTimeOffset.UtcNow <= boundary)
        {
            await Task.Delay(1); // the next record must be made after the boundary
        }

        return boundary;
    }

    [Fact]
    public async Task Archived_records_leave_a_trail_that_still_verifies_and_an_archive_that_verifies_alone()
    {
        var headsBefore = Path.Combine(_folder.Path, "heads.jsonl");
        await File.WriteAllTextAsync(headsBefore, (await _cli.OkAsync("audit", "heads")).Out);
        var before = await BoundaryAfterEverythingSoFarAsync();
        await _cli.OkWithInputAsync("second pass phrase\n", "user", "add", "bob@example.test");

        var archive = Path.Combine(_folder.Path, "archive.jsonl");
        var archived = await _cli.OkAsync("audit", "archive", "--before", before.ToString("O"), "--out", archive);
        Assert.Contains("Archived", archived.Out);

        var live = await LiveRecordsAsync();
        Assert.True(live[0].Sequence > 1);
        Assert.DoesNotContain(live, r => r.Event.Time < before && r.Event.Action != AuditAction.KeyVersionCreated);
        var verified = await _cli.OkAsync("audit", "verify", "--heads", headsBefore);
        Assert.Contains("after the archive boundary", verified.Out);
        Assert.Contains("every key version has its record", verified.Out);

        // The archive verifies alone: its records chain from the genesis to the signed boundary head.
        var lines = await File.ReadAllLinesAsync(archive);
        var previous = AuditRecord.GenesisHash;
        foreach (var line in lines[..^1])
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            string? Text(string name) => r.GetProperty(name).ValueKind == JsonValueKind.Null ? null : r.GetProperty(name).GetString();
            var e = new AuditEvent(r.GetProperty("time").GetDateTimeOffset(), Text("actor")!, Text("role")!, Text("source"), Text("protocol")!,
                Enum.Parse<AuditAction>(Text("action")!), Text("target"), Enum.Parse<AuditOutcome>(Text("outcome")!), Text("detail"), Text("correlation")!);
            var hash = AuditRecord.ComputeHash(r.GetProperty("seq").GetInt64(), Text("node")!, e, previous);
            Assert.Equal(Text("hash"), Convert.ToHexString(hash));
            previous = hash;
        }

        using var head = JsonDocument.Parse(lines[^1]);
        Assert.Equal(Convert.ToHexString(previous), head.RootElement.GetProperty("head").GetProperty("hash").GetString());
        Assert.Equal(live[0].PreviousHash, previous);
    }

    [Fact]
    public async Task A_record_removed_after_the_boundary_is_still_found()
    {
        var before = await BoundaryAfterEverythingSoFarAsync();
        await _cli.OkWithInputAsync("second pass phrase\n", "user", "add", "bob@example.test");
        await _cli.OkAsync("audit", "archive", "--before", before.ToString("O"), "--out", Path.Combine(_folder.Path, "a.jsonl"));
        var first = (await LiveRecordsAsync())[0].Sequence;
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(_cli.DataDirectory, SqliteAuditStore.FileName)};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM audit_records WHERE seq = {first}";
            await command.ExecuteNonQueryAsync();
        }

        (await _cli.RunAsync("audit", "verify")).AssertCleanError(1, "no signed archive boundary covers them");
    }

    [Theory]
    [InlineData("nothing before", "2000-01-01T00:00:00Z", "no live record was made before")]
    [InlineData("bad time", "whenever", "is not a time")]
    public async Task Bad_archive_requests_are_one_line(string what, string before, string expected)
    {
        Assert.NotEmpty(what);
        var result = await _cli.RunAsync("audit", "archive", "--before", before, "--out", Path.Combine(_folder.Path, "x.jsonl"));
        result.AssertCleanError(1, expected);
    }

    [Fact]
    public async Task An_existing_archive_file_is_never_overwritten()
    {
        var path = Path.Combine(_folder.Path, "exists.jsonl");
        await File.WriteAllTextAsync(path, "keep me\n");
        (await _cli.RunAsync("audit", "archive", "--before", DateTimeOffset.UtcNow.ToString("O"), "--out", path)).AssertCleanError(1, "never overwritten");
        Assert.Equal("keep me\n", await File.ReadAllTextAsync(path));
    }
}
