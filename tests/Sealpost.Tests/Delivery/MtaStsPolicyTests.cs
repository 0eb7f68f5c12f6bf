using Sealpost.Delivery;

namespace Sealpost.Tests.Delivery;

/// <summary>RFC 8461 §3.2 policy parsing and §4.1 MX matching.</summary>
public sealed class MtaStsPolicyTests
{
    [Theory]
    [InlineData("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n", "enforce")]
    [InlineData("version: STSv1\r\nmode: testing\r\nmx: *.example.org\r\nmx: mx2.example.net\r\nmax_age: 604800\r\n", "testing")]
    [InlineData("version: STSv1\nmode: none\nmax_age: 86400\n", "none")]
    [InlineData("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", null)]
    [InlineData("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n", null)]
    [InlineData("version: STSv1\nmode: enforce\nmax_age: 86400\n", null)]
    [InlineData("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 99999999999\n", null)]
    [InlineData("version: STSv1\nmode: enforce\nmx: a.example\n", null)]
    [InlineData("<html>not a policy</html>", null)]
    public void Policies_parse_as_the_rfc_says(string body, string? mode) =>
        Assert.Equal(mode, MtaStsPolicy.Parse("1", body)?.Mode);

    [Theory]
    [InlineData("mx.example.org", "mx.example.org", true)]
    [InlineData("MX.Example.Org.", "mx.example.org", true)]
    [InlineData("*.example.org", "mx1.example.org", true)]
    [InlineData("*.example.org", "a.b.example.org", false)]
    [InlineData("*.example.org", "example.org", false)]
    [InlineData("mx.example.org", "mx.example.org.evil.test", false)]
    public void Mx_patterns_match_one_leftmost_label_at_most(string pattern, string host, bool matches) =>
        Assert.Equal(matches, new MtaStsPolicy("1", "enforce", [pattern], TimeSpan.FromDays(1)).Matches(host));
}
