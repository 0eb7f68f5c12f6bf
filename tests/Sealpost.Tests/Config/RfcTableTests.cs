using System.Text.RegularExpressions;

namespace Sealpost.Tests.Config;

/// <summary>docs/rfc.md: one row per RFC, a status from a fixed vocabulary, and a row for every RFC the code cites.</summary>
public sealed partial class RfcTableTests
{
    private static readonly string Root = Sealpost.Tests.Support.Repository.Root;

    private static List<(string Rfc, string Status)> Rows() =>
        File.ReadAllLines(Path.Combine(Root, "docs", "rfc.md"))
            .Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| RFC ", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries))
            .Select(cells => (cells[1], cells[3]))
            .ToList();

    [GeneratedRegex(@"\bRFC (\d{3,5})\b")]
    private static partial Regex Citation();

    [Fact]
    public void Every_row_names_exactly_one_rfc()
    {
        Assert.All(Rows(), row => Assert.Matches(@"^\d{3,5}$", row.Rfc));
    }

    [Fact]
    public void No_rfc_has_two_rows()
    {
        var twice = Rows().GroupBy(r => r.Rfc).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(twice);
    }

    [Fact]
    public void Every_status_is_one_of_the_four()
    {
        Assert.All(Rows(), row => Assert.Contains(row.Status, new[] { "Yes", "Partial", "Roadmap", "No" }));
    }

    [Fact]
    public void Every_rfc_the_code_cites_has_a_row()
    {
        var listed = Rows().Select(r => r.Rfc).ToHashSet();
        var cited = Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => Citation().Matches(File.ReadAllText(f)).Select(m => (Rfc: m.Groups[1].Value, File: Path.GetRelativePath(Root, f))))
            .Where(c => !listed.Contains(c.Rfc))
            .Select(c => $"RFC {c.Rfc} ({c.File})")
            .Distinct()
            .ToList();
        Assert.Empty(cited);
    }
}
