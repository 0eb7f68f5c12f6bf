using System.Diagnostics;
using System.Text;

namespace Sealpost.Tests.Support;

/// <summary>
/// A program of ours (a .dll next to the tests) run as a real child process. Output lines are
/// collected as they arrive; the process is killed when the test ends, so nothing outlives it.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public static ChildProcess Start(string assemblyName, IEnumerable<string> args, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, assemblyName + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} was not built next to the tests");
        }

        return Run("dotnet", [dll, .. args], environment, workingDirectory);
    }

    /// <summary>A native program (a packaged build, say) rather than an assembly built next to the tests.</summary>
    public static ChildProcess StartExecutable(string path, IEnumerable<string> args, IDictionary<string, string>? environment = null, string? workingDirectory = null) =>
        Run(path, args, environment, workingDirectory);

    private static ChildProcess Run(string fileName, IEnumerable<string> args, IDictionary<string, string>? environment, string? workingDirectory)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._lock)
                {
                    child._stdout.Add(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._lock)
                {
                    child._stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public int Id => _process.Id;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return _stdout.ToList();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a stdout line matching <paramref name="predicate"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var match = Lines.FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no matching line within {timeout.TotalSeconds} s; exited={_process.HasExited}; stdout:\n{string.Join('\n', Lines.TakeLast(20))}\nstderr:\n{Stderr}");
    }

    /// <summary>Waits up to <paramref name="timeout"/> for <paramref name="fragment"/> on standard error (where the server logs).</summary>
    public async Task WaitForStderrAsync(string fragment, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Stderr.Contains(fragment, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow >= deadline || _process.HasExited)
            {
                throw new TimeoutException($"'{fragment}' not logged within {timeout.TotalSeconds} s; exited={_process.HasExited}; stderr:\n{Stderr}");
            }

            await Task.Delay(50);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drain the asynchronous readers
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no chance to flush or clean up, as in a power cut or an OOM kill.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>SIGTERM: what systemd sends on stop.</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
