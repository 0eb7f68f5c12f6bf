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

/// <summary>RFC 7208 §7 macro expansion, against the RFC's own examples (§7.4).</summary>
public sealed class SpfMacroTests
{
    // RFC 7208 §7.4: sender strong-bad@email.example.com, IP 192.0.2.3 (and 2001:db8::cb01), domain email.example.com.
    private static readonly SpfMacroContext V4 = new("strong-bad@email.example.com", "email.example.com", System.Net.IPAddress.Parse("192.0.2.3"), "mx.example.org");
    private static readonly SpfMacroContext V6 = V4 with { Client = System.Net.IPAddress.Parse("2001:db8::cb01") };

    [Theory]
    [InlineData("%{s}", "strong-bad@email.example.com")]
    [InlineData("%{o}", "email.example.com")]
    [InlineData("%{d}", "email.example.com")]
    [InlineData("%{d4}", "email.example.com")]
    [InlineData("%{d3}", "email.example.com")]
    [InlineData("%{d2}", "example.com")]
    [InlineData("%{d1}", "com")]
    [InlineData("%{dr}", "com.example.email")]
    [InlineData("%{d2r}", "example.email")]
    [InlineData("%{l}", "strong-bad")]
    [InlineData("%{l-}", "strong.bad")]
    [InlineData("%{lr}", "strong-bad")]
    [InlineData("%{lr-}", "bad.strong")]
    [InlineData("%{l1r-}", "strong")]
    [InlineData("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com")]
    [InlineData("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com")]
    [InlineData("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com")]
    [InlineData("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com")]
    [InlineData("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net")]
    [InlineData("%{h}", "mx.example.org")]
    [InlineData("%%%_%-", "% %20")]
    [InlineData("%{S}", "strong-bad%40email.example.com")]
    public void Expands_the_rfc_examples(string macro, string expected)
    {
        Assert.True(SpfMacros.TryExpand(macro, V4, out var expanded));
        Assert.Equal(expected, expanded);
    }

    [Fact]
    public void Ipv6_expands_to_nibbles()
    {
        Assert.True(SpfMacros.TryExpand("%{ir}.%{v}._spf.%{d2}", V6, out var expanded));
        Assert.Equal("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", expanded);
    }

    [Theory]
    [InlineData("%")]
    [InlineData("%x")]
    [InlineData("%{")]
    [InlineData("%{}")]
    [InlineData("%{q}")]
    [InlineData("%{c}")]        // exp= only
    [InlineData("%{d0}")]
    [InlineData("%{d2!}")]
    public void Refuses_malformed_macros(string macro) => Assert.False(SpfMacros.TryExpand(macro, V4, out _));
}
