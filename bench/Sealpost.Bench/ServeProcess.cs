using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sealpost.Bench;

/// <summary>A `sealpost serve --dev` of its own for the process benchmarks: loopback listeners, warnings only, started and waited for until Ready.</summary>
internal static class ServeProcess
{
    /// <param name="server">A published sealpost executable, or a sealpost.dll run with dotnet.</param>
    /// <param name="inboundPort">The inbound SMTP port the load goes to; every other listener takes any free port.</param>
    public static async Task<Process> StartAsync(string server, string folder, int inboundPort, IEnumerable<string> settings)
    {
        var info = server.EndsWith(".dll", StringComparison.Ordinal)
            ? new ProcessStartInfo("dotnet") { ArgumentList = { server } }
            : new ProcessStartInfo(server);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        foreach (var a in new[]
                 {
                     "serve", "--dev", "--data", folder,
                     "--set", "Http:Listen:0=127.0.0.1:0", "--set", $"Smtp:InboundListen:0=127.0.0.1:{inboundPort}", "--set", "Smtp:SubmissionListen:0=127.0.0.1:0",
                     "--set", "Smtp:SubmissionTlsListen:0=127.0.0.1:0", "--set", "Imap:Listen:0=127.0.0.1:0", "--set", "Imap:TlsListen:0=127.0.0.1:0",
                     "--set", "Log:Level=Warning",
                 }.Concat(settings))
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException("server exited: " + await process.StandardError.ReadToEndAsync());
            if (line.Contains("Ready.", StringComparison.Ordinal))
            {
                break;
            }
        }

        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether something accepts connections on the endpoint within ten seconds (a reference server starting).</summary>
    public static async Task<bool> AcceptsAsync(IPEndPoint endpoint)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(endpoint);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }
}
