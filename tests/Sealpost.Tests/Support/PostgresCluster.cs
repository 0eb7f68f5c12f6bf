using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Sealpost.Tests.Support;

/// <summary>
/// A throw-away PostgreSQL cluster for the test run: initdb as the postgres user (initdb refuses
/// root) into a temp folder, started on 127.0.0.1 on a free port, stopped and removed when the test
/// process exits. Each test gets its own database.
/// </summary>
public sealed class PostgresCluster
{
    private static readonly Lazy<Task<PostgresCluster>> SharedCluster = new(StartAsync);
    private const string User = "sealpost";
    private const string Password = "test-only-password";

    private PostgresCluster(string binDirectory, string dataDirectory, int port)
    {
        BinDirectory = binDirectory;
        DataDirectory = dataDirectory;
        Port = port;
    }

    public string BinDirectory { get; }
    public string DataDirectory { get; }
    public int Port { get; }

    public static Task<PostgresCluster> SharedAsync() => SharedCluster.Value;

    /// <summary>A cluster of its own, for a test that stops and starts the server.</summary>
    public static Task<PostgresCluster> StartNewAsync() => StartAsync();

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = User, Password = Password, Database = database, Pooling = true, Timeout = 5 }.ConnectionString;

    /// <summary>A new empty database; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "sealpost_" + Guid.NewGuid().ToString("N")[..16];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Stops the cluster if it still runs (a test may have stopped it) and removes its files.</summary>
    public async Task StopAndDeleteAsync()
    {
        try
        {
            await StopAsync(immediate: true);
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }

        Directory.Delete(DataDirectory, recursive: true);
    }

    public Task StopAsync(bool immediate = true) => RunAsPostgresAsync(Path.Combine(BinDirectory, "pg_ctl"), "-D", DataDirectory, "-m", immediate ? "immediate" : "fast", "-w", "stop");

    public Task StartAgainAsync() => RunAsPostgresAsync(Path.Combine(BinDirectory, "pg_ctl"), "-D", DataDirectory, "-l", Path.Combine(DataDirectory, "server.log"), "-w",
        "-o", $"-p {Port} -k /tmp -c listen_addresses=127.0.0.1 -c max_wal_size=64MB -c min_wal_size=32MB", "start");

    /// <summary>Drops a database a test made (its store closed), so a run's cluster does not grow with every test.</summary>
    public Task DropDatabaseAsync(string connectionString) =>
        ExecuteAsync($"DROP DATABASE IF EXISTS {new NpgsqlConnectionStringBuilder(connectionString).Database} WITH (FORCE)");

    /// <summary>
    /// An online physical backup of the whole cluster (every database, the audit trail's too) with the
    /// WAL needed to make it consistent, as pg_basebackup takes it for a standby or a restore.
    /// </summary>
    public async Task BaseBackupAsync(string directory)
    {
        await RunAsPostgresAsync("/usr/bin/env", "PGPASSWORD=" + Password, Path.Combine(BinDirectory, "pg_basebackup"),
            "-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", User, "-D", directory, "-Fp", "-Xs", "--checkpoint=fast");
    }

    /// <summary>
    /// A streaming standby of this cluster on a port of its own, named <paramref name="name"/> (its
    /// application_name, for synchronous_standby_names): pg_basebackup -R, then started.
    /// </summary>
    /// <param name="replicationPort">Where the standby streams from, when not this cluster's own port (a proxy that adds distance).</param>
    public async Task<PostgresCluster> StartStandbyAsync(string name, int? replicationPort = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "sealpost-pg-standby-" + Guid.NewGuid().ToString("N")[..12]);
        await RunAsPostgresAsync(Path.Combine(BinDirectory, "pg_basebackup"),
            "-d", $"host=127.0.0.1 port={Port} user={User} password={Password} application_name={name}", "-D", directory, "-Fp", "-Xs", "-R", "--checkpoint=fast");
        if (replicationPort is { } via)
        {
            // The last setting wins: stream through the given port instead.
            await RunAsPostgresAsync("/bin/sh", "-c",
                $"echo \"primary_conninfo = 'host=127.0.0.1 port={via} user={User} password={Password} application_name={name}'\" >> {directory}/postgresql.auto.conf");
        }

        var standby = new PostgresCluster(BinDirectory, directory, FreePort());
        await standby.StartAgainAsync();
        return standby;
    }

    /// <summary>Runs one statement as the cluster's superuser (ALTER SYSTEM and the like).</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>pg_ctl promote: a standby becomes a primary.</summary>
    public Task PromoteAsync() => RunAsPostgresAsync(Path.Combine(BinDirectory, "pg_ctl"), "-D", DataDirectory, "-w", "promote");

    /// <summary>A cluster started from a base backup, on a port of its own: the restore.</summary>
    public static async Task<PostgresCluster> StartFromBackupAsync(string backup)
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().First();
        var cluster = new PostgresCluster(bin, backup, FreePort());
        await cluster.StartAgainAsync();
        return cluster;
    }

    private static async Task<PostgresCluster> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL is not installed; run scripts/deps.sh (it installs everything the tests need)");
        }

        RemoveStoppedClusters();
        var data = Path.Combine(Path.GetTempPath(), "sealpost-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(data);
        var passwordFile = data + ".pw";
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        await RunAsync("chown", "postgres:postgres", data, passwordFile);
        await RunAsPostgresAsync(Path.Combine(bin, "initdb"), "-D", data, "-U", User, "-A", "scram-sha-256", "--pwfile", passwordFile, "-E", "UTF8", "--locale", "C.UTF-8");
        File.Delete(passwordFile);
        var port = FreePort();
        var cluster = new PostgresCluster(bin, data, port);
        await cluster.StartAgainAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                cluster.StopAsync(immediate: false).Wait(TimeSpan.FromSeconds(10));
                Directory.Delete(data, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or AggregateException or InvalidOperationException)
            {
            }
        };
        return cluster;
    }

    /// <summary>
    /// Removes clusters an earlier run left behind (a test host that was killed runs no exit handler):
    /// stopped ones (no postmaster.pid) untouched for an hour, so a run starting beside this one keeps its own.
    /// </summary>
    private static void RemoveStoppedClusters()
    {
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), "sealpost-pg-*"))
        {
            try
            {
                if (!File.Exists(Path.Combine(directory, "postmaster.pid")) && Directory.GetLastWriteTimeUtc(directory) < DateTime.UtcNow.AddHours(-1))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task RunAsPostgresAsync(params string[] command) =>
        Environment.UserName == "postgres" ? RunAsync(command[0], command[1..]) : RunAsync("runuser", ["-u", "postgres", "--", .. command]);

    private static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/tmp" };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }
}

public sealed class PostgresStoreFactory : IStoreFactory
{
    private readonly List<Sealpost.Core.Storage.ISealpostStore> _opened = [];
    private readonly List<string> _databases = [];

    public string Name => "postgres";

    public async Task<Sealpost.Core.Storage.ISealpostStore> CreateAsync(Sealpost.Core.Configuration.StoreOptions? options = null)
    {
        var cluster = await PostgresCluster.SharedAsync();
        var database = await cluster.CreateDatabaseAsync();
        _databases.Add(database);
        var store = await Sealpost.Store.Postgres.PostgresStore.OpenAsync(database);
        _opened.Add(store);
        return store;
    }

    public async Task<Sealpost.Core.Storage.ISealpostStore> OpenAgainAsync(Sealpost.Core.Storage.ISealpostStore store)
    {
        var connection = ((Sealpost.Store.Postgres.PostgresStore)store).ConnectionString;
        var again = await Sealpost.Store.Postgres.PostgresStore.OpenAsync(connection);
        _opened.Add(again);
        return again;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        var cluster = await PostgresCluster.SharedAsync();
        foreach (var database in _databases)
        {
            await cluster.DropDatabaseAsync(database);
        }
    }
}
