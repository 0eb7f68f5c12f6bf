namespace Sealpost.Tests.Support;

/// <summary>
/// The independent implementations in tests/js (npm packages pinned in its package.json, installed by
/// scripts/deps.sh), run with node: what our own cryptography is cross-checked against.
/// </summary>
public static class IndependentJs
{
    /// <summary>Runs tests/js/<paramref name="script"/> and returns its standard output; a non-zero exit fails the test.</summary>
    public static async Task<string> RunAsync(string script, string package, params string[] args)
    {
        var folder = Path.Combine(Repository.Root, "tests", "js");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", package)))
        {
            throw new InvalidOperationException($"tests/js has no node_modules/{package}; run scripts/deps.sh (it installs everything the tests need)");
        }

        var (exit, output) = await Tools.RunAsync("node", [Path.Combine(folder, script), .. args], timeout: TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, output);
        return output;
    }
}
