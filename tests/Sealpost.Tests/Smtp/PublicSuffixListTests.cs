using Sealpost.Smtp.Authentication;

namespace Sealpost.Tests.Smtp;

/// <summary>DMARC's organisational domain (RFC 7489 §3.2) from the real Public Suffix List (Debian package publicsuffix).</summary>
public sealed class PublicSuffixListTests
{
    private static PublicSuffixList Real() =>
        PublicSuffixList.Load(PublicSuffixList.DebianPath)
        ?? throw new InvalidOperationException($"{PublicSuffixList.DebianPath} is missing; run scripts/deps.sh (it installs everything the tests need)");

    [Theory]
    [InlineData("example.com", "example.com")]
    [InlineData("a.b.example.com", "example.com")]
    [InlineData("example.co.uk", "example.co.uk")]
    [InlineData("mail.dept.example.co.uk", "example.co.uk")]
    [InlineData("foo.bar.ck", "foo.bar.ck")]           // *.ck: bar.ck is a public suffix
    [InlineData("www.ck", "www.ck")]                   // !www.ck: an exception
    [InlineData("city.kawasaki.jp", "city.kawasaki.jp")] // !city.kawasaki.jp beats *.kawasaki.jp
    [InlineData("a.b.kawasaki.jp", "a.b.kawasaki.jp")]
    [InlineData("mail.example.gov.uk", "example.gov.uk")]
    [InlineData("x.example.unknowntld", "example.unknowntld")] // no rule: the implicit "*"
    [InlineData("co.uk", "co.uk")]
    public void Organisational_domains(string domain, string expected) => Assert.Equal(expected, Real().OrganisationalDomain(domain));

    [Fact]
    public void Rules_of_every_kind_parse()
    {
        var list = new PublicSuffixList(["// comment", "", "com", "*.ck", "!www.ck", "公司.cn"]);
        Assert.Equal(4, list.Count);
        Assert.Equal("xn--55qx5d.cn", list.PublicSuffix("example.xn--55qx5d.cn"));
        Assert.Equal("bar.ck", list.PublicSuffix("foo.bar.ck"));
        Assert.Equal("ck", list.PublicSuffix("www.ck"));
        Assert.True(Real().Count > 5000);
    }
}
