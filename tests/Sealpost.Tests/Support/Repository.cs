namespace Sealpost.Tests.Support;

/// <summary>The source tree the tests run from (for source checks, docs and the tests' own scripts).</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sealpost.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Sealpost.slnx) was not found above the test binaries");
    }
}
