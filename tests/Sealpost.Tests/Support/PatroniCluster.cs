using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Npgsql;

namespace Sealpost.Tests.Support;

/// <summary>
/// The shipped promotion mechanism on loopback: one etcd member (standing in for the three-member
/// quorum of docs/disaster-recovery.md) and two Patroni members, "site-a" and "site-b", each
/// configured by deploy/dr/patroni-member.sh and managing a PostgreSQL cluster of its own as the
/// postgres user. Patroni bootstraps one as primary and the other as its synchronous standby.
/// </summary>
public sealed class PatroniCluster : IAsyncDisposable
{
    private const string SuperuserPassword = "test-only-superuser";
    private const string Password = "test-only-password";
    private readonly TempFolder _folder;
    private readonly Process _etcd;

    private PatroniCluster(TempFolder folder, Process etcd, int etcdPort, IReadOnlyList<Member> members)
    {
        _folder = folder;
        _etcd = etcd;
        EtcdPort = etcdPort;
        Members = members;
    }

    public int EtcdPort { get; }

    public IReadOnlyList<Member> Members { get; }

    public sealed class Member(string name, int pgPort, int apiPort, string dataDirectory, string configuration, string log)
    {
        public string Name { get; } = name;
        public int PgPort { get; } = pgPort;
        public int ApiPort { get; } = apiPort;
        public string DataDirectory { get; } = dataDirectory;
        public string Configuration { get; } = configuration;
        public string Log { get; } = log;
        internal Process? Patroni { get; set; }
    }

    /// <summary>Starts etcd and both members and waits until one leads and the other is its synchronous standby.</summary>
    public static async Task<PatroniCluster> StartAsync()
    {
        Tools.Require("patroni");
        Tools.Require("etcd");
        var folder = new TempFolder("sealpost-patroni");
        // Patroni and PostgreSQL run as postgres: they create the data directories and .pgpass files here.
        await Tools.RunAsync("chmod", ["1777", folder.Path]);
        var (clientPort, peerPort) = (FreePort(), FreePort());
        var etcd = Start(Tools.Require("etcd"), folder.Sub("etcd.log"), [
            "--name", "witness", "--data-dir", folder.Sub("etcd"),
            "--listen-client-urls", $"http://127.0.0.1:{clientPort}", "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"witness=http://127.0.0.1:{peerPort}"]);
        var members = new List<Member>();
        var cluster = new PatroniCluster(folder, etcd, clientPort, members);
        try
        {
            await WaitForHttpAsync($"http://127.0.0.1:{clientPort}/health", "etcd did not start", folder.Sub("etcd.log"));
            foreach (var name in new[] { "site-a", "site-b" })
            {
                var (pg, api) = (FreePort(), FreePort());
                var configuration = folder.Sub(name + ".yml");
                var (exit, yaml) = await Tools.RunAsync("bash", [
                    Path.Combine(Repository.Root, "deploy/dr/patroni-member.sh"), "--name", name, "--data-dir", folder.Sub(name),
                    "--pg", $"127.0.0.1:{pg}", "--api", $"127.0.0.1:{api}", "--etcd", $"127.0.0.1:{clientPort}", "--socket-dir", folder.Path]);
                if (exit != 0)
                {
                    throw new InvalidOperationException("deploy/dr/patroni-member.sh failed: " + yaml);
                }

                await File.WriteAllTextAsync(configuration, yaml);
                var member = new Member(name, pg, api, folder.Sub(name), configuration, folder.Sub(name + ".log"));
                members.Add(member);
                cluster.StartMember(member);
                if (members.Count == 1)
                {
                    // The first member bootstraps (initdb); the second then clones it.
                    await cluster.WaitForAsync(c => c.Leader == name, "site-a did not bootstrap as the primary", 90);
                }
            }

            await cluster.WaitForAsync(c => c.Leader is not null && c.SynchronousStandby is not null, "no synchronous standby", 90);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection string naming both members, following whichever is read-write.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = string.Join(',', Members.Select(m => $"127.0.0.1:{m.PgPort}")),
        Username = "sealpost",
        Password = Password,
        Database = database,
        TargetSessionAttributes = "read-write",
        HostRecheckSeconds = 1,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>Creates the sealpost role and a new database on the primary; the connection string for both members.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "sealpost_" + Guid.NewGuid().ToString("N")[..16];
        await SuperuserAsync(Members.Single(m => m.Name == State().Leader), $"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sealpost') THEN CREATE ROLE sealpost LOGIN CREATEDB PASSWORD '{Password}'; END IF;
            END $$;
            """);
        await SuperuserAsync(Members.Single(m => m.Name == State().Leader), $"CREATE DATABASE {name} OWNER sealpost");
        return ConnectionString(name);
    }

    /// <summary>The loss of a whole site: its Patroni and its PostgreSQL killed at once (SIGKILL).</summary>
    public async Task KillSiteAsync(Member member)
    {
        member.Patroni?.Kill(entireProcessTree: true);
        KillPostmaster(member);
        if (member.Patroni is { } patroni)
        {
            await patroni.WaitForExitAsync();
            patroni.Dispose();
        }

        member.Patroni = null;
    }

    /// <summary>The quorum lost (etcd killed): no member can hold or renew the leader lock.</summary>
    public async Task KillQuorumAsync()
    {
        _etcd.Kill(entireProcessTree: true);
        await _etcd.WaitForExitAsync();
    }

    /// <summary>Starts a member's Patroni again (the old primary coming back): it must rejoin as a standby.</summary>
    public void Rejoin(Member member) => StartMember(member);

    /// <summary>Whether the member's PostgreSQL is in recovery (a standby) and so refuses writes.</summary>
    public async Task<bool> InRecoveryAsync(Member member)
    {
        await using var connection = new NpgsqlConnection(Superuser(member));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_is_in_recovery()", connection);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    public Task SuperuserAsync(Member member, string sql) => ExecuteAsync(Superuser(member), sql);

    /// <summary>The cluster as the members' REST APIs see it (the first that answers).</summary>
    public ClusterState State()
    {
        foreach (var member in Members.Where(m => m.Patroni is not null))
        {
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                using var document = JsonDocument.Parse(http.GetStringAsync($"http://127.0.0.1:{member.ApiPort}/cluster").GetAwaiter().GetResult());
                var members = document.RootElement.GetProperty("members").EnumerateArray()
                    .Select(m => (Name: m.GetProperty("name").GetString()!, Role: m.GetProperty("role").GetString()!, State: m.GetProperty("state").GetString()!))
                    .ToList();
                return new ClusterState(
                    members.FirstOrDefault(m => m.Role == "leader" && m.State == "running").Name,
                    members.FirstOrDefault(m => m.Role == "sync_standby" && m.State is "running" or "streaming").Name);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
            }
        }

        return new ClusterState(null, null);
    }

    public async Task WaitForAsync(Func<ClusterState, bool> condition, string what, int seconds = 60)
    {
        try
        {
            await Waiting.UntilAsync(() => condition(State()), what, seconds);
        }
        catch (TimeoutException ex)
        {
            var logs = string.Join("\n", Members.Select(m => $"--- {m.Name}:\n" + Tail(m.Log)));
            throw new TimeoutException($"{ex.Message}; cluster: {State()}\n{logs}");
        }
    }

    public sealed record ClusterState(string? Leader, string? SynchronousStandby);

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            await KillSiteAsync(member);
        }

        try
        {
            _etcd.Kill(entireProcessTree: true);
            await _etcd.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }

        _etcd.Dispose();
        _folder.Dispose();
    }

    private void StartMember(Member member)
    {
        // As postgres (initdb and PostgreSQL refuse root); the passwords come from the environment, as the unit gives them.
        member.Patroni = Start("runuser", member.Log, ["-u", "postgres", "--", Tools.Require("patroni"), member.Configuration], new Dictionary<string, string>
        {
            ["PATRONI_SUPERUSER_PASSWORD"] = SuperuserPassword,
            ["PATRONI_REPLICATION_PASSWORD"] = "test-only-replication",
            ["PATRONI_REWIND_PASSWORD"] = "test-only-rewind",
        });
    }

    private static void KillPostmaster(Member member)
    {
        var pidFile = Path.Combine(member.DataDirectory, "postmaster.pid");
        try
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First(), out var pid))
            {
                using var postmaster = Process.GetProcessById(pid);
                postmaster.Kill();
                postmaster.WaitForExit(10_000);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            // not running
        }
    }

    private static string Superuser(Member member) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = member.PgPort, Username = "postgres", Password = SuperuserPassword, Database = "postgres", Pooling = false, Timeout = 5,
    }.ConnectionString;

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static Process Start(string file, string log, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetTempPath() };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        var gate = new object();
        void Write(object _, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (gate)
                {
                    writer.WriteLine(e.Data);
                }
            }
        }

        process.OutputDataReceived += Write;
        process.ErrorDataReceived += Write;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForHttpAsync(string url, string what, string log)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ok = false;
        await Waiting.UntilAsync(() =>
        {
            try
            {
                ok = http.GetAsync(url).GetAwaiter().GetResult().IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            return ok;
        }, what + ": " + Tail(log), 30);
    }

    private static string Tail(string log)
    {
        try
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join("\n", reader.ReadToEnd().Split('\n').TakeLast(15));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
