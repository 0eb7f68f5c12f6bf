using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sealpost.Tests.Support;

/// <summary>A real DNS server (dnsmasq) on 127.0.0.1 with a fixture zone, for SPF, DKIM and DMARC; killed on dispose.</summary>
public sealed class DnsServer : IDisposable
{
    private readonly Process _process;

    private DnsServer(Process process, int port)
    {
        _process = process;
        EndPoint = new IPEndPoint(IPAddress.Loopback, port);
    }

    public IPEndPoint EndPoint { get; }

    /// <param name="records">dnsmasq record options, e.g. "--txt-record=example.test,v=spf1 -all".</param>
    public static async Task<DnsServer> StartAsync(params string[] records)
    {
        // A port free for UDP may still be held on TCP (a connection in TIME_WAIT): then try another.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortAsync(records);
            }
            catch (InvalidOperationException ex) when (attempt < 5 && ex.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    private static async Task<DnsServer> StartOnFreePortAsync(string[] records)
    {
        var dnsmasq = Tools.Require("dnsmasq");
        int port;
        using (var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            port = ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
        }

        var info = new ProcessStartInfo(dnsmasq) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--user=root",
                     "--listen-address=127.0.0.1", "--bind-interfaces", $"--port={port}", "--log-facility=-", "--local=/test/" }.Concat(records))
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var server = new DnsServer(process, port);
        // Ready when it answers TCP on its port (dnsmasq serves TCP too).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("dnsmasq exited: " + await process.StandardError.ReadToEndAsync());
            }

            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(server.EndPoint);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        server.Dispose();
        throw new TimeoutException("dnsmasq did not start");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
