using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sealpost.Server.Hosting;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// DANE for SMTP (RFC 7672) against a real signed zone: ldns-signzone, nsd, and unbound validating
/// with the zone's key as trust anchor. A certificate no public CA vouches for is accepted when a
/// DNSSEC-proved TLSA record names it, and a certificate the TLSA records do not name is refused.
/// </summary>
public sealed class OutboundDaneTests : IDisposable
{
    private readonly TestCa _privateCa = new("Private CA nobody trusts");

    public void Dispose() => _privateCa.Dispose();

    private static string SpkiSha256(string certificateFile)
    {
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile).Split("\n\n")[0]);
        return Convert.ToHexString(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    private async Task<(int Delivered, string? LastError)> DeliverAsync(Func<string, string> tlsaFor)
    {
        var (certificate, key) = _privateCa.Issue("mx.dane.test");
        using var receiver = await SmtpReceiver.StartAsync(certificate, key);
        using var dns = await DnssecResolver.StartAsync("dane.test",
            "@ IN MX 10 mx.dane.test.",
            "mx IN A 127.0.0.1",
            $"_{receiver.Port}._tcp.mx IN TLSA {tlsaFor(certificate)}");
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            o.Delivery.TestMxPort = receiver.Port;
        });
        await server.SendAsAliceAsync("under DANE", "carol@dane.test");
        await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, new ManualTime(DateTimeOffset.UtcNow)).RunOnceAsync(CancellationToken.None);
        var left = await server.Server.Runtime.Queue.ListAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, CancellationToken.None);
        return (receiver.Messages.Count(m => m.Headers["X-Receiver-Tls"] == "yes"), left.SingleOrDefault()?.LastError);
    }

    [Fact]
    public async Task A_certificate_named_by_a_signed_TLSA_record_is_accepted_without_a_public_CA()
    {
        var (delivered, error) = await DeliverAsync(certificate => "3 1 1 " + SpkiSha256(certificate));
        Assert.Equal((1, null), (delivered, error));
    }

    [Fact]
    public async Task A_certificate_the_signed_TLSA_records_do_not_name_is_refused()
    {
        var (delivered, error) = await DeliverAsync(_ => "3 1 1 " + Convert.ToHexString(SHA256.HashData("another key"u8)));
        Assert.Equal(0, delivered);
        Assert.StartsWith("451 4.7.5", error);
    }
}
