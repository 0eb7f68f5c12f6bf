using Npgsql;
using Sealpost.Core;
using Sealpost.Core.Audit;
using Sealpost.Crypto.Primitives;
using Sealpost.Domain.Audit;
using Sealpost.Store.Postgres;
using Sealpost.Store.Sqlite;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Store;

/// <summary>The audit store contract, written once and run against SQLite and PostgreSQL.</summary>
public abstract class AuditStoreContractTests : IAsyncLifetime
{
    private readonly List<IAuditStore> _opened = [];

    /// <summary>Opens the same audit store again (a second node, or a restart).</summary>
    protected abstract Task<IAuditStore> OpenAsync();

    public abstract Task InitializeAsync();

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }
    }

    private async Task<IAuditStore> NewAsync()
    {
        var store = await OpenAsync();
        _opened.Add(store);
        return store;
    }

    private static AuditEvent Event(int i, string? target = "alice@example.test", AuditAction action = AuditAction.LoginSucceeded) =>
        new(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000 + i), $"actor{i % 3}@example.test", "user", i % 2 == 0 ? "192.0.2.7" : null, "imap", action, target, AuditOutcome.Success, i % 4 == 0 ? null : "PLAIN", $"c{i}");

    [Fact]
    public async Task Appends_chain_from_the_genesis_and_read_back_exactly()
    {
        var store = await NewAsync();
        var written = await store.AppendAsync("node-a", Enumerable.Range(0, 10).Select(i => Event(i)).ToList());
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), written.Select(r => r.Sequence));
        Assert.Equal(AuditRecord.GenesisHash, written[0].PreviousHash);
        var read = await store.ReadAsync(1, 100);
        Assert.Equal(written.Select(r => Convert.ToHexString(r.Hash)), read.Select(r => Convert.ToHexString(r.Hash)));
        Assert.Equal(written.Select(r => r.Event), read.Select(r => r.Event));
        Assert.All(read, r => Assert.Equal(AuditRecord.ComputeHash(r.Sequence, r.Node, r.Event, r.PreviousHash), r.Hash));
    }

    [Fact]
    public async Task A_reopened_store_continues_the_chain()
    {
        var first = await NewAsync();
        var a = await first.AppendAsync("node-a", [Event(1)]);
        var second = await NewAsync();
        var b = await second.AppendAsync("node-b", [Event(2)]);
        Assert.Equal(2, b[0].Sequence);
        Assert.Equal(a[0].Hash, b[0].PreviousHash);
        Assert.Equal(b[0].Sequence, (await first.GetHeadAsync())!.Sequence);
    }

    [Fact]
    public async Task A_node_appending_after_another_chains_onto_the_other_nodes_record()
    {
        var a = await NewAsync();
        var b = await NewAsync();
        await a.AppendAsync("node-a", [Event(1)]);
        await a.AppendAsync("node-a", [Event(2)]);
        var fromB = await b.AppendAsync("node-b", [Event(3)]);
        var again = await a.AppendAsync("node-a", [Event(4), Event(5)]);
        Assert.Equal([4L, 5L], again.Select(r => r.Sequence));
        Assert.Equal(fromB[0].Hash, again[0].PreviousHash);
        var read = await a.ReadAsync(1, 10);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], read.Select(r => r.Sequence));
        Assert.Equal(again[1].Hash, read[^1].Hash);
    }

    [Fact]
    public async Task Two_nodes_appending_at_once_make_one_chain_without_gaps()
    {
        var a = await NewAsync();
        var b = await NewAsync();
        var writers = new[] { (a, "node-a"), (b, "node-b") }.Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await w.Item1.AppendAsync(w.Item2, Enumerable.Range(0, 5).Select(j => Event(i * 5 + j)).ToList());
            }
        }));
        await Task.WhenAll(writers);
        var seed = new byte[32];
        using var signer = new AuditSigner(seed);
        var result = await AuditVerifier.VerifyAsync(a, signer.PublicKey, []);
        Assert.True(result.Ok, result.Message);
        Assert.Equal(500, result.Records);
        var nodes = (await a.ReadAsync(1, 1000)).Select(r => r.Node).Distinct().Order().ToList();
        Assert.Equal(["node-a", "node-b"], nodes);
    }

    [Fact]
    public async Task Search_selects_by_actor_action_target_and_time()
    {
        var store = await NewAsync();
        await store.AppendAsync("n", [Event(0), Event(1, "bob@example.test"), Event(2, action: AuditAction.LoginFailed), Event(3)]);
        Assert.Equal([2L], (await store.SearchAsync(new AuditQuery(Target: "bob@example.test"))).Select(r => r.Sequence));
        Assert.Equal([3L], (await store.SearchAsync(new AuditQuery(Action: AuditAction.LoginFailed))).Select(r => r.Sequence));
        Assert.Equal([1L, 4L], (await store.SearchAsync(new AuditQuery(Actor: "actor0@example.test"))).Select(r => r.Sequence));
        Assert.Equal([3L, 4L], (await store.SearchAsync(new AuditQuery(Since: DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_002)))).Select(r => r.Sequence));
        Assert.Equal([2L], (await store.SearchAsync(new AuditQuery(AfterSequence: 1, Limit: 1))).Select(r => r.Sequence));
    }

    [Fact]
    public async Task Checkpoints_are_kept_and_verify()
    {
        var store = await NewAsync();
        var records = await store.AppendAsync("n", [Event(0), Event(1)]);
        using var signer = new AuditSigner(Enumerable.Repeat((byte)7, 32).ToArray());
        var time = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_500);
        var head = records[^1];
        await store.AddCheckpointAsync(new AuditCheckpoint(head.Sequence, head.Hash, time, "n", signer.PublicKey, signer.Sign(AuditCheckpoint.SignedBytes(head.Sequence, head.Hash, time))));
        var stored = Assert.Single(await store.ListCheckpointsAsync());
        Assert.Equal(head.Hash, stored.Hash);
        Assert.True((await AuditVerifier.VerifyAsync(store, signer.PublicKey, [])).Ok);
        using var other = new AuditSigner(Enumerable.Repeat((byte)8, 32).ToArray());
        var foreign = await AuditVerifier.VerifyAsync(store, other.PublicKey, []);
        Assert.False(foreign.Ok);
        Assert.Contains("not signed by this deployment's audit key", foreign.Message);
    }

    [Fact]
    public async Task A_spooled_batch_appended_twice_is_in_the_trail_once()
    {
        var store = await NewAsync();
        var key = Enumerable.Repeat((byte)3, 32).ToArray();
        Assert.True(await store.AppendSpooledAsync("n", [Event(0), Event(1)], key));
        Assert.False(await store.AppendSpooledAsync("n", [Event(0), Event(1)], key));
        Assert.True(await store.AppendSpooledAsync("n", [Event(2)], Enumerable.Repeat((byte)4, 32).ToArray()));
        Assert.Equal(["c0", "c1", "c2"], (await store.ReadAsync(1, 100)).Select(r => r.Event.CorrelationId));
    }

    [Fact]
    public async Task A_spool_left_behind_by_an_interrupted_drain_is_not_written_twice()
    {
        var store = await NewAsync();
        using var folder = new TempFolder("sealpost-spool-drain");
        using (var spool = new AuditSpool(folder.Path, 100))
        {
            Assert.True(spool.TryAppend(Enumerable.Range(0, 3).Select(i => Event(i, action: AuditAction.MessageDelivered)).ToList()));
        }

        var spoolFile = Path.Combine(folder.Path, AuditSpool.FileName);
        var leftBehind = await File.ReadAllBytesAsync(spoolFile);
        await RecordThroughTrailAsync(store, folder.Path, Event(10));
        Assert.False(File.Exists(spoolFile));

        // The process died after the store committed the drain and before it removed the spool.
        await File.WriteAllBytesAsync(spoolFile, leftBehind);
        await RecordThroughTrailAsync(store, folder.Path, Event(11));

        Assert.Equal(["c0", "c1", "c2", "c10", "c11"], (await store.ReadAsync(1, 100)).Select(r => r.Event.CorrelationId));
        using var signer = new AuditSigner(new byte[32]);
        var verified = await AuditVerifier.VerifyAsync(store, signer.PublicKey, []);
        Assert.True(verified.Ok, verified.Message);
    }

    /// <summary>A trail over the folder's spool records one event (draining the spool first) and shuts down.</summary>
    private static async Task RecordThroughTrailAsync(IAuditStore store, string folder, AuditEvent e)
    {
        await using var trail = new AuditTrail(store, new AuditSpool(folder, 100), new AuditSigner(new byte[32]), "n", TimeSpan.FromHours(1), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await trail.RecordAsync(e, AuditDurability.StoreOrSpool);
    }

    [Fact]
    public async Task Pruning_after_an_archive_keeps_the_records_past_the_boundary()
    {
        var store = await NewAsync();
        await store.AppendAsync("n", Enumerable.Range(0, 5).Select(i => Event(i)).ToList());
        await store.PruneThroughAsync(3);
        Assert.Equal([4L, 5L], (await store.ReadAsync(1, 100)).Select(r => r.Sequence));
        var next = await store.AppendAsync("n", [Event(9)]);
        Assert.Equal(6, next[0].Sequence);
    }

    [Fact]
    public async Task The_probe_answers_while_the_store_is_available()
    {
        var store = await NewAsync();
        await store.ProbeAsync();
    }
}

public sealed class SqliteAuditStoreContractTests : AuditStoreContractTests
{
    private readonly TempFolder _folder = new("sealpost-audit-store");

    public override Task InitializeAsync() => Task.CompletedTask;

    protected override async Task<IAuditStore> OpenAsync() => await SqliteAuditStore.OpenAsync(_folder.Path, 5000);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

public sealed class PostgresAuditStoreContractTests : AuditStoreContractTests
{
    private string _connectionString = null!;

    public override async Task InitializeAsync()
    {
        var cluster = await PostgresCluster.SharedAsync();
        // The audit database does not exist yet: the store creates it beside the mail store's.
        _connectionString = PostgresAuditStore.DeriveConnectionString(await cluster.CreateDatabaseAsync());
    }

    protected override async Task<IAuditStore> OpenAsync() => await PostgresAuditStore.OpenAsync(_connectionString, 5000);

    [Theory]
    [InlineData("UPDATE audit_records SET target = 'mallory@example.test'")]
    [InlineData("DELETE FROM audit_records")]
    [InlineData("TRUNCATE audit_records")]
    [InlineData("DELETE FROM audit_checkpoints")]
    public async Task Rows_cannot_be_changed_or_removed(string sql)
    {
        var store = await OpenAsync();
        await using (store)
        {
            await store.AppendAsync("n", [new AuditEvent(DateTimeOffset.UtcNow, "a", "user", null, "imap", AuditAction.LoginFailed, "t", AuditOutcome.Failure, null, "c")]);
            await store.AddCheckpointAsync(new AuditCheckpoint(1, new byte[32], DateTimeOffset.UtcNow, "n", new byte[32], new byte[64]));
        }

        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Contains("append-only", error.MessageText);
    }
}
