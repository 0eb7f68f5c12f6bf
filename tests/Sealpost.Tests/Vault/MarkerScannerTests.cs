using System.Text;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>The scanner itself must find a marker in each form, or the scan proves nothing.</summary>
public sealed class MarkerScannerTests
{
    private const string Marker = "Geheim-Märker-Ж77";

    public static TheoryData<string, byte[]> Encodings()
    {
        var utf8 = Encoding.UTF8.GetBytes(Marker);
        var data = new TheoryData<string, byte[]>
        {
            { "utf-8", utf8 },
            { "utf-16le", Encoding.Unicode.GetBytes(Marker) },
            { "json", Encoding.ASCII.GetBytes(System.Text.Json.JsonSerializer.Serialize(Marker, new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default })) },
            { "quoted-printable", Encoding.ASCII.GetBytes(QpViaMimeKit(utf8)) },
            { "rfc2047", MimeKit.Utils.Rfc2047.EncodeText(Encoding.UTF8, "x " + Marker) },
        };
        for (var shift = 0; shift < 3; shift++)
        {
            data.Add($"base64+{shift}", Encoding.ASCII.GetBytes(Convert.ToBase64String([.. new byte[shift], .. utf8, 1, 2, 3])));
        }

        return data;
    }

    private static string QpViaMimeKit(byte[] bytes)
    {
        var part = new MimeKit.TextPart("plain") { ContentTransferEncoding = MimeKit.ContentEncoding.QuotedPrintable };
        part.SetText("utf-8", Encoding.UTF8.GetString(bytes));
        var encoded = new MemoryStream();
        part.WriteTo(encoded);
        var text = Encoding.ASCII.GetString(encoded.ToArray());
        var body = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        return body[(body.IndexOf("\n\n", StringComparison.Ordinal) + 2)..].Replace("=\n", "", StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Finds_the_marker_in_each_encoding(string form, byte[] encoded)
    {
        var scanner = new MarkerScanner([Marker]);
        byte[] stored = [.. "prefix junk "u8, .. encoded, .. " suffix"u8];
        Assert.True(scanner.Scan(form, stored).Count > 0, $"missed the {form} form: {Encoding.ASCII.GetString(encoded)}");
        Assert.Empty(scanner.Scan(form, "nothing to see here, only Geheim and M\u00e4rker apart"u8.ToArray()));
    }
}
