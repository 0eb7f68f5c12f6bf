using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Sealpost.Mime.Dkim;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// DKIM signatures we make verify with MimeKit and with python3-dkim (an independent
/// implementation), for RSA-2048 and Ed25519 (RFC 8463); the original octets stay as they were.
/// </summary>
public sealed class DkimTests
{
    private static readonly byte[] Message = Encoding.ASCII.GetBytes(
        "From: Alice <alice@example.test>\r\nTo: carol@partner.test\r\nSubject: signed\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n" +
        "Message-ID: <1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello  there, \r\nsecond line\r\n");

    public static TheoryData<string> Algorithms() => new() { "rsa", "ed25519" };

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task A_signature_verifies_with_MimeKit(string algorithm)
    {
        var key = DkimKey.Create("example.test", "s1", algorithm, DateTimeOffset.UtcNow);
        var signed = DkimMessageSigner.Sign(Message, key);
        var parsed = MimeMessage.Load(new MemoryStream(signed));
        var verifier = new DkimVerifier(new FixedKey(key.DnsRecord));
        verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
        Assert.True(await verifier.VerifyAsync(parsed, parsed.Headers[parsed.Headers.IndexOf(HeaderId.DkimSignature)]));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task A_signature_verifies_with_python3_dkim(string algorithm)
    {
        var key = DkimKey.Create("example.test", "s1", algorithm, DateTimeOffset.UtcNow);
        var (exit, output) = await VerifyWithPythonAsync(DkimMessageSigner.Sign(Message, key), key);
        Assert.True(exit == 0, output);
        Assert.Equal("pass", output.Trim());
    }

    [Fact]
    public async Task A_changed_body_fails_python3_dkim()
    {
        var key = DkimKey.Create("example.test", "s1", "rsa", DateTimeOffset.UtcNow);
        var signed = Encoding.ASCII.GetString(DkimMessageSigner.Sign(Message, key)).Replace("second line", "altered line", StringComparison.Ordinal);
        var (exit, _) = await VerifyWithPythonAsync(Encoding.ASCII.GetBytes(signed), key);
        Assert.Equal(1, exit);
    }

    [Fact]
    public void Signing_adds_one_header_in_front_and_changes_nothing_else()
    {
        var key = DkimKey.Create("example.test", "s1", "ed25519", DateTimeOffset.UtcNow);
        var signed = DkimMessageSigner.Sign(Message, key);
        var text = Encoding.ASCII.GetString(signed);
        Assert.StartsWith("DKIM-Signature:", text);
        Assert.EndsWith(Encoding.ASCII.GetString(Message), text);
        Assert.Contains("d=example.test", text);
        Assert.Contains("s=s1", text);
    }

    [Fact]
    public async Task An_8bit_body_is_made_7bit_before_signing_and_still_reads_the_same()
    {
        var key = DkimKey.Create("example.test", "s1", "rsa", DateTimeOffset.UtcNow);
        var eightBit = Encoding.UTF8.GetBytes("From: alice@example.test\r\nTo: carol@partner.test\r\nSubject: umlauts\r\nMIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Zürich\r\n");
        var signed = DkimMessageSigner.Sign(Sealpost.Mime.SevenBit.Downgrade(eightBit), key);
        Assert.DoesNotContain(signed, b => b >= 0x80);
        var (exit, output) = await VerifyWithPythonAsync(signed, key);
        Assert.True(exit == 0, output);
        var text = Assert.IsType<TextPart>(MimeMessage.Load(new MemoryStream(signed)).Body);
        Assert.Equal("Grüße aus Zürich", text.Text.TrimEnd());
    }

    [Fact]
    public void A_7bit_message_is_left_as_it_is() => Assert.Same(Message, Sealpost.Mime.SevenBit.Downgrade(Message));

    internal static async Task<(int Exit, string Output)> VerifyWithPythonAsync(byte[] message, DkimKey key)
    {
        using var folder = new TempFolder("sealpost-dkim");
        var file = folder.Sub("message.eml");
        await File.WriteAllBytesAsync(file, message);
        if ((await Tools.RunAsync("/usr/bin/python3", ["-c", "import dkim"])).Exit != 0)
        {
            throw new InvalidOperationException("python3-dkim is not installed; run scripts/deps.sh (it installs everything the tests need)");
        }

        return await Tools.RunAsync("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "Fixtures", "dkim", "verify.py"), file, $"{key.DnsName}={key.DnsRecord}"]);
    }

    private sealed class FixedKey(string record) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) => GetPublicKey(record);

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(GetPublicKey(record));
    }
}
