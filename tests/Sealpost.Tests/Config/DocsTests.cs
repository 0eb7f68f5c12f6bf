using System.Text.RegularExpressions;

namespace Sealpost.Tests.Config;

/// <summary>Docs check themselves: every log event id the code defines is in docs/operations.md.</summary>
public sealed partial class DocsTests
{
    private static string Root() => Sealpost.Tests.Support.Repository.Root;

    public static TheoryData<int> EventIds()
    {
        var ids = new TheoryData<int>();
        foreach (var id in Directory.EnumerateFiles(Path.Combine(Root(), "src"), "*.cs", SearchOption.AllDirectories)
                     .SelectMany(f => EventIdRegex().Matches(File.ReadAllText(f)).Select(m => int.Parse(m.Groups[1].Value)))
                     .Distinct().Order())
        {
            ids.Add(id);
        }

        return ids;
    }

    [Theory]
    [MemberData(nameof(EventIds))]
    public void Every_log_event_id_is_documented(int id)
    {
        var documented = new HashSet<int>();
        foreach (Match row in TableRowRegex().Matches(File.ReadAllText(Path.Combine(Root(), "docs", "operations.md"))))
        {
            foreach (var part in row.Groups[1].Value.Split('/'))
            {
                var range = part.Split('–');
                var first = int.Parse(range[0]);
                var last = range.Length == 2 ? int.Parse(range[1]) : first;
                for (var i = first; i <= last; i++)
                {
                    documented.Add(i);
                }
            }
        }

        Assert.True(documented.Contains(id), $"event id {id} is logged by the code but not listed in docs/operations.md");
    }

    [GeneratedRegex(@"EventId = (\d+)")]
    private static partial Regex EventIdRegex();

    [GeneratedRegex(@"^\| ([0-9]+(?:[/–][0-9]+)*) \|", RegexOptions.Multiline)]
    private static partial Regex TableRowRegex();
}
