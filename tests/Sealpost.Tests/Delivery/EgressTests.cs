using System.Text.RegularExpressions;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// Data residency: outbound delivery opens sockets only through <c>EgressConnector</c>, to the
/// addresses a route resolved. Read from the source, so a new connection anywhere else in the
/// delivery code fails the build's tests.
/// </summary>
public sealed partial class EgressTests
{
    [GeneratedRegex(@"new\s+(Socket|TcpClient|UdpClient|HttpClient|SocketsHttpHandler)\s*\(|(?<!_connector)\.Connect(Async)?\s*\((?!\s*socket\b)|Dns\.GetHost")]
    private static partial Regex Connecting();

    [Theory]
    [InlineData("src/Sealpost.Delivery")]
    [InlineData("src/Sealpost.Server/Tls")] // the ACME client
    public void Only_the_egress_connector_opens_connections_to_the_outside(string folder)
    {
        var offenders = Directory.GetFiles(Path.Combine(Sealpost.Tests.Support.Repository.Root, folder), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && Path.GetFileName(f) != "EgressConnector.cs")
            .SelectMany(f => File.ReadAllLines(f).Select((line, i) => (File: Path.GetFileName(f), Line: i + 1, Text: line)))
            .Where(l => Connecting().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "connections outside EgressConnector:\n" + string.Join("\n", offenders));
    }
}
