using System.Diagnostics;

namespace Sealpost.Tests.Support;

/// <summary>External tools the tests drive. A missing one fails with the script that installs it.</summary>
public static class Tools
{
    public static string Require(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException($"'{name}' is not installed; run scripts/deps.sh (it installs everything the tests need)");
    }

    /// <summary>Runs a tool to completion (bounded by <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(string tool, IEnumerable<string> args, string stdin = "", TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(Require(tool))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish in time");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
