using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sealpost.Tests.Support;

/// <summary>
/// A DNSSEC-signed zone on loopback: the records are signed with ldns-signzone (ldnsutils), served by
/// nsd, and validated by unbound with the zone's key as its trust anchor; <see cref="EndPoint"/> is
/// unbound, which sets AD on what it proved. All three from Debian; killed on dispose.
/// </summary>
public sealed class DnssecResolver : IDisposable
{
    private readonly TempFolder _folder;
    private readonly List<Process> _processes = [];

    private DnssecResolver(TempFolder folder) => _folder = folder;

    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <param name="zone">The zone's name, e.g. "dane.test".</param>
    /// <param name="records">Zone-file lines relative to the zone (SOA and NS are added).</param>
    public static async Task<DnssecResolver> StartAsync(string zone, params string[] records)
    {
        foreach (var tool in new[] { "ldns-keygen", "ldns-signzone", "nsd", "unbound" })
        {
            Tools.Require(tool);
        }

        var resolver = new DnssecResolver(new TempFolder("sealpost-dnssec"));
        try
        {
            await resolver.StartInternalAsync(zone, records);
            return resolver;
        }
        catch
        {
            resolver.Dispose();
            throw;
        }
    }

    private async Task StartInternalAsync(string zone, string[] records)
    {
        var dir = _folder.Path;
        await File.WriteAllTextAsync(Path.Combine(dir, "zone"), $"$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns.{zone}. admin.{zone}. 1 3600 600 86400 300\n@ IN NS ns.{zone}.\nns IN A 127.0.0.1\n"
            + string.Join("\n", records) + "\n");
        var key = (await RunAsync(dir, "ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone)).Trim();
        await RunAsync(dir, "ldns-signzone", "zone", key);

        // A port free for UDP a moment ago may be taken for TCP, or by then: a daemon that cannot bind
        // exits, and is started again on another port rather than waited for.
        var nsdPort = 0;
        for (var attempt = 1; ; attempt++)
        {
            nsdPort = FreePort();
            await File.WriteAllTextAsync(Path.Combine(dir, "nsd.conf"), $"""
                server:
                  ip-address: 127.0.0.1@{nsdPort}
                  username: ""
                  zonesdir: "{dir}"
                  database: ""
                  pidfile: "{dir}/nsd.pid"
                  xfrdfile: "{dir}/xfrd.state"
                  zonelistfile: "{dir}/zone.list"
                  logfile: "{dir}/nsd.log"
                  chroot: ""
                remote-control:
                  control-enable: no
                zone:
                  name: "{zone}"
                  zonefile: "zone.signed"
                """);
            if (await WaitForTcpAsync(nsdPort, Start(dir, "nsd", "-d", "-c", Path.Combine(dir, "nsd.conf"))))
            {
                break;
            }

            if (attempt == 5)
            {
                throw new InvalidOperationException($"nsd exited five times at start: {(File.Exists(Path.Combine(dir, "nsd.log")) ? File.ReadAllText(Path.Combine(dir, "nsd.log")) : "no log")}");
            }
        }

        var unboundPort = 0;
        for (var attempt = 1; ; attempt++)
        {
            unboundPort = FreePort();
            await File.WriteAllTextAsync(Path.Combine(dir, "unbound.conf"), $"""
                server:
                  interface: 127.0.0.1@{unboundPort}
                  do-daemonize: no
                  username: ""
                  chroot: ""
                  directory: "{dir}"
                  pidfile: "{dir}/unbound.pid"
                  logfile: "{dir}/unbound.log"
                  use-syslog: no
                  do-not-query-localhost: no
                  trust-anchor-file: "{dir}/{key}.ds"
                  module-config: "validator iterator"
                  access-control: 127.0.0.0/8 allow
                  qname-minimisation: no
                  local-zone: "test." nodefault
                stub-zone:
                  name: "{zone}"
                  stub-addr: 127.0.0.1@{nsdPort}
                remote-control:
                  control-enable: no
                """);
            if (await WaitForTcpAsync(unboundPort, Start(dir, "unbound", "-d", "-c", Path.Combine(dir, "unbound.conf"))))
            {
                break;
            }

            if (attempt == 5)
            {
                throw new InvalidOperationException($"unbound exited five times at start: {(File.Exists(Path.Combine(dir, "unbound.log")) ? File.ReadAllText(Path.Combine(dir, "unbound.log")) : "no log")}");
            }
        }

        EndPoint = new IPEndPoint(IPAddress.Loopback, unboundPort);
    }

    private Process Start(string dir, string tool, params string[] args)
    {
        var info = new ProcessStartInfo(Tools.Require(tool)) { WorkingDirectory = dir, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        _processes.Add(process);
        return process;
    }

    private static async Task<string> RunAsync(string dir, string tool, params string[] args)
    {
        var info = new ProcessStartInfo(Tools.Require(tool)) { WorkingDirectory = dir, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{tool} failed: {error}");
    }

    private static int FreePort()
    {
        using var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
    }

    /// <summary>True once the daemon accepts TCP on <paramref name="port"/>; false if it exited first (the port was taken). Throws after 60 s.</summary>
    private static async Task<bool> WaitForTcpAsync(int port, Process daemon)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                if (daemon.HasExited)
                {
                    return false;
                }

                await Task.Delay(50);
            }
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            try
            {
                process.Kill(true);
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        _folder.Dispose();
    }
}
