using System.Text;
using Sealpost.Mime;

namespace Sealpost.Tests.Mime;

/// <summary>RFC 2045 §6.7, one rule per case.</summary>
public sealed class QuotedPrintableTests
{
    [Theory]
    [InlineData("plain\r\n", "plain\r\n")]
    [InlineData("=41=42=c3=a9\r\n", "AB\u00c3\u00a9\r\n")] // rule 1, either case of hex
    [InlineData("trailing   \r\n", "trailing\r\n")] // rule 3: padding goes
    [InlineData("tabs\t \t\r\n", "tabs\r\n")]
    [InlineData("kept=20\r\n", "kept \r\n")] // encoded space stays
    [InlineData("soft=\r\nbreak\r\n", "softbreak\r\n")] // rule 5
    [InlineData("soft=  \t\r\nbreak\r\n", "softbreak\r\n")] // rule 5 with padding after the "="
    [InlineData("no final break=", "no final break")]
    [InlineData("lf only\nline two\n", "lf only\r\nline two\r\n")]
    [InlineData("bad =ZZ and =4\r\n", "bad =ZZ and =4\r\n")] // robust: kept as it is
    [InlineData("", "")]
    public void Decodes(string encoded, string expected)
    {
        var decoded = QuotedPrintable.Decode(Encoding.Latin1.GetBytes(encoded));
        Assert.Equal(expected, Encoding.Latin1.GetString(decoded));
    }
}
