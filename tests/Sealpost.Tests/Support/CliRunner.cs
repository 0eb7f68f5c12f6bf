using Sealpost.Cli;

namespace Sealpost.Tests.Support;

public sealed record CliResult(int ExitCode, string Out, string Err)
{
    /// <summary>An error is one line, without a stack trace.</summary>
    public void AssertCleanError(int expectedExit, string fragment)
    {
        Assert.Equal(expectedExit, ExitCode);
        var lines = Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(fragment, lines[0], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", Err);
        Assert.DoesNotContain("Exception", Err);
    }
}

/// <summary>Runs the sealpost command in-process against a test data folder.</summary>
public sealed class CliRunner(string dataDirectory)
{
    public string DataDirectory { get; } = dataDirectory;

    public Task<CliResult> RunWithInputAsync(string stdin, params string[] args) => RunOfflineAsync(stdin, [.. args, .. TestOptions.CliArgs(DataDirectory)]);

    /// <summary>The command in this process with exactly these arguments (no data folder): what an officer runs on their own machine.</summary>
    public static async Task<CliResult> RunOfflineAsync(string stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await SealpostCli.RunAsync(args, new CliConsole(new StringReader(stdin), output, error, inputIsTerminal: false));
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    public async Task<CliResult> OkWithInputAsync(string stdin, params string[] args)
    {
        var result = await RunWithInputAsync(stdin, args);
        Assert.True(result.ExitCode == 0, $"sealpost {string.Join(' ', args)} exited {result.ExitCode}: {result.Err}");
        return result;
    }

    public Task<CliResult> OkAsync(params string[] args) => OkWithInputAsync("", args);

    /// <summary>init with a recovery public key made as the officers would (its private half is dropped).</summary>
    public Task<CliResult> InitAsync()
    {
        var (publicFile, _) = TestOptions.RecoveryKey(Path.GetDirectoryName(DataDirectory.TrimEnd('/'))!);
        return OkAsync("init", "--recovery-public-key", publicFile, "--unseal", "file");
    }
}
