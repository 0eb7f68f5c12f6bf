using Sealpost.Core;
using Sealpost.Core.Addressing;

namespace Sealpost.Tests.Model;

public sealed class AddressTests
{
    [Theory]
    // input, canonical key, display form
    [InlineData("alice@example.test", "alice@example.test", "alice@example.test")]
    [InlineData("Alice@EXAMPLE.test", "alice@example.test", "Alice@example.test")]
    [InlineData("<bob@example.test>", "bob@example.test", "bob@example.test")]
    [InlineData("  carol@example.test ", "carol@example.test", "carol@example.test")]
    [InlineData("first.last+tag@sub.example.org", "first.last+tag@sub.example.org", "first.last+tag@sub.example.org")]
    [InlineData("o'brien@example.test", "o'brien@example.test", "o'brien@example.test")]
    [InlineData("!#$%&'*+-/=?^_`{|}~@example.test", "!#$%&'*+-/=?^_`{|}~@example.test", "!#$%&'*+-/=?^_`{|}~@example.test")]
    [InlineData("\"john doe\"@example.test", "\"john doe\"@example.test", "\"john doe\"@example.test")]
    [InlineData("\"a\\\"b\"@example.test", "\"a\\\"b\"@example.test", "\"a\\\"b\"@example.test")]
    // RFC 6531: UTF-8 local parts; case folding applies beyond ASCII.
    [InlineData("Jörg@example.test", "jörg@example.test", "Jörg@example.test")]
    [InlineData("ÅSA@example.test", "åsa@example.test", "ÅSA@example.test")]
    [InlineData("用户@例子.测试", "用户@xn--fsqu00a.xn--0zwm56d", "用户@例子.测试")]
    // NFC: "e" + combining acute equals precomposed "é".
    [InlineData("rene\u0301@example.test", "ren\u00e9@example.test", "ren\u00e9@example.test")]
    // IDNA: the U-label and the A-label are one domain.
    [InlineData("info@bücher.example", "info@xn--bcher-kva.example", "info@bücher.example")]
    [InlineData("info@XN--BCHER-KVA.example", "info@xn--bcher-kva.example", "info@bücher.example")]
    [InlineData("info@example.test.", "info@example.test", "info@example.test")]
    public void Valid_addresses_normalise(string input, string key, string display)
    {
        var address = MailAddress.Parse(input);
        Assert.Equal(key, address.Key);
        Assert.Equal(display, address.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("no-at-sign", "local-part@domain")]
    [InlineData("@example.test", "local-part@domain")]
    [InlineData("alice@", "local-part@domain")]
    [InlineData(".alice@example.test", "dot")]
    [InlineData("alice.@example.test", "dot")]
    [InlineData("al..ice@example.test", "dot")]
    [InlineData("al ice@example.test", "needs quoting")]
    [InlineData("al(ice@example.test", "needs quoting")]
    [InlineData("al\u0001ice@example.test", "control")]
    [InlineData("\"unterminated\\\"@example.test", "escape")]
    [InlineData("alice@localhost", "two labels")]
    [InlineData("alice@-bad.example", "not a valid domain")]
    [InlineData("alice@bad-.example", "not a valid domain")]
    [InlineData("alice@exa mple.test", "not a valid domain")]
    [InlineData("alice@exa_mple.test", "not a valid domain")]
    [InlineData("alice@example.123", "all-numeric")]
    [InlineData("alice@[127.0.0.1]", "address literals")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test", "64 octets")]
    public void Invalid_addresses_are_refused_with_a_reason(string input, string reasonFragment)
    {
        Assert.False(MailAddress.TryParse(input, out _, out var error));
        Assert.Contains(reasonFragment, error, StringComparison.OrdinalIgnoreCase);
        var ex = Assert.Throws<SealpostException>(() => MailAddress.Parse(input));
        Assert.Equal(ErrorKind.InvalidInput, ex.Kind);
    }

    [Fact]
    public void A_local_part_of_64_octets_is_accepted_and_65_refused_counting_utf8_bytes()
    {
        Assert.True(MailAddress.TryParse(new string('a', 64) + "@example.test", out _, out _));
        // 32 two-byte characters are 64 octets; one more ASCII character makes 65.
        Assert.True(MailAddress.TryParse(new string('é', 32) + "@example.test", out _, out _));
        Assert.False(MailAddress.TryParse(new string('é', 32) + "a@example.test", out _, out _));
    }

    [Fact]
    public void A_label_of_63_characters_is_accepted_and_64_refused()
    {
        Assert.True(DomainName.TryParse(new string('a', 63) + ".example", out _, out _));
        Assert.False(DomainName.TryParse(new string('a', 64) + ".example", out _, out _));
        Assert.False(DomainName.TryParse(string.Join('.', Enumerable.Repeat(new string('a', 60), 5)), out _, out var error));
        Assert.Contains("253", error);
    }

    [Fact]
    public void Equality_and_hashing_follow_the_canonical_key()
    {
        var a = MailAddress.Parse("ÅSA@Bücher.example");
        var b = MailAddress.Parse("åsa@xn--bcher-kva.EXAMPLE");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, MailAddress.Parse("asa@bücher.example"));
        Assert.Equal("ÅSA@xn--bcher-kva.example", a.ToAsciiDomainForm());
        Assert.Equal(DomainName.Parse("BÜCHER.example"), a.Domain);
    }

    [Fact]
    public void Error_messages_do_not_echo_control_characters()
    {
        Assert.False(MailAddress.TryParse("x\r\ny", out _, out var error));
        Assert.DoesNotContain('\r', error);
        Assert.DoesNotContain('\n', error);
    }
}
