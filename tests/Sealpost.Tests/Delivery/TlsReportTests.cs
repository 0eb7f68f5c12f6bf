using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Sealpost.Server;
using Sealpost.Server.Hosting;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// TLS-RPT (RFC 8460) from the sending side: a delivery to partner.test, whose "_smtp._tls" record
/// asks for reports by mail, is counted; the next day the report goes out through the outbound queue,
/// DKIM-signed, and the receiver gets a multipart/report whose gzipped JSON counts the session.
/// </summary>
public sealed class TlsReportTests : IDisposable
{
    private readonly TestCa _ca = new("Sealpost Test Partner CA");

    public void Dispose() => _ca.Dispose();

    private static Task<DnsServer> DnsAsync() => DnsServer.StartAsync(
        "--mx-host=partner.test,mx.partner.test,10", "--host-record=mx.partner.test,127.0.0.1",
        "--txt-record=_smtp._tls.partner.test,v=TLSRPTv1; rua=mailto:tlsrpt@reports.test",
        "--mx-host=reports.test,mx.reports.test,10", "--host-record=mx.reports.test,127.0.0.1");

    public static TheoryData<bool, string> Sessions => new()
    {
        { true, "" },
        { false, "starttls-not-supported" },
    };

    [Theory]
    [MemberData(nameof(Sessions))]
    public async Task The_next_day_the_domain_gets_a_report_counting_the_session(bool receiverOffersTls, string failure)
    {
        var (certificate, key) = _ca.Issue("mx.partner.test");
        using var receiver = receiverOffersTls ? await SmtpReceiver.StartAsync(certificate, key) : await SmtpReceiver.StartAsync();
        using var dns = await DnsAsync();
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            o.Delivery.TestMxPort = receiver.Port;
            o.Delivery.TlsReports = true;
            o.Delivery.TlsReportsFrom = "tlsrpt-noreply@example.test";
            o.Delivery.TlsReportsOrganization = "Example Government";
        });
        var runtime = server.Server.Runtime;
        await runtime.Dkim.CreateAsync(SealpostRuntime.LocalAdministrator, "example.test", "ed25519", null, CancellationToken.None);
        await server.SendAsAliceAsync("counted for the report", "carol@partner.test");
        var time = new ManualTime(DateTimeOffset.UtcNow);
        await OutboundDeliveryHost.CreateWorker(runtime, time).RunOnceAsync(CancellationToken.None);
        await receiver.WaitForAsync(1);

        var sender = new TlsReportSender(runtime, runtime.TlsReports!, NullLogger.Instance);
        Assert.Equal(0, await sender.SendDueAsync(CancellationToken.None)); // the day is not over
        runtime.TlsReports!.Clock = new ManualTime(DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal(1, await sender.SendDueAsync(CancellationToken.None));
        // The report was queued just now: the worker's clock is moved past it.
        await OutboundDeliveryHost.CreateWorker(runtime, new ManualTime(DateTimeOffset.UtcNow.AddMinutes(1))).RunOnceAsync(CancellationToken.None);
        var report = (await receiver.WaitForAsync(2))[1];

        Assert.Equal("partner.test", report.Headers["TLS-Report-Domain"]);
        Assert.Contains("tlsrpt@reports.test", report.To.Mailboxes.Select(m => m.Address));
        Assert.NotNull(report.Headers["DKIM-Signature"]);
        var body = Assert.IsType<MultipartReport>(report.Body);
        Assert.Equal("tlsrpt", body.ReportType);
        var attachment = Assert.Single(body.OfType<MimePart>(), p => p.ContentType.MimeType == "application/tlsrpt+gzip");
        Assert.EndsWith(".json.gz", attachment.FileName);
        using var decoded = new MemoryStream();
        await attachment.Content!.DecodeToAsync(decoded);
        decoded.Position = 0;
        using var json = await JsonDocument.ParseAsync(new GZipStream(decoded, CompressionMode.Decompress));
        var policy = Assert.Single(json.RootElement.GetProperty("policies").EnumerateArray());
        Assert.Equal("Example Government", json.RootElement.GetProperty("organization-name").GetString());
        Assert.Equal("no-policy-found", policy.GetProperty("policy").GetProperty("policy-type").GetString());
        Assert.Equal("partner.test", policy.GetProperty("policy").GetProperty("policy-domain").GetString());
        var summary = policy.GetProperty("summary");
        Assert.Equal(receiverOffersTls ? 1 : 0, summary.GetProperty("total-successful-session-count").GetInt64());
        Assert.Equal(receiverOffersTls ? 0 : 1, summary.GetProperty("total-failure-session-count").GetInt64());
        if (!receiverOffersTls)
        {
            var detail = Assert.Single(policy.GetProperty("failure-details").EnumerateArray());
            Assert.Equal(failure, detail.GetProperty("result-type").GetString());
            Assert.Equal("mx.partner.test", detail.GetProperty("receiving-mx-hostname").GetString());
            Assert.Equal("127.0.0.1", detail.GetProperty("receiving-ip").GetString());
        }
    }
}

public sealed class TlsReportRecordTests
{
    [Theory]
    [InlineData(new[] { "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test" }, "mailto:tlsrpt@reports.test")]
    [InlineData(new[] { "v=TLSRPTv1;rua=mailto:a@reports.test,https://reports.test/v1" }, "mailto:a@reports.test https://reports.test/v1")]
    [InlineData(new[] { "v=spf1 -all", "v=TLSRPTv1; rua=https://reports.test/tlsrpt" }, "https://reports.test/tlsrpt")]
    [InlineData(new[] { "v=TLSRPTv1; rua=mailto:a@x.test", "v=TLSRPTv1; rua=mailto:b@x.test" }, "")] // RFC 8460 §3: several records, none used
    [InlineData(new[] { "v=TLSRPTv1; rua=http://reports.test/plain" }, "")] // only mailto: and https:
    [InlineData(new[] { "v=TLSRPTv1" }, "")]
    [InlineData(new string[0], "")]
    public void The_rua_of_a_single_TLSRPTv1_record_are_the_destinations(string[] txt, string expected)
    {
        Assert.Equal(expected, string.Join(' ', Sealpost.Delivery.TlsReport.Destinations(txt).Select(u => u.ToString())));
    }

    [Fact]
    public void What_was_counted_survives_a_save_and_a_load()
    {
        var policy = Sealpost.Delivery.TlsReportPolicy.None("partner.test");
        var today = new ManualTime(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var before = new Sealpost.Delivery.TlsReportCollector(today);
        before.Success(policy);
        before.Failure(policy, "validation-failure", "mx.partner.test", "192.0.2.1");
        var after = new Sealpost.Delivery.TlsReportCollector(new ManualTime(new DateTimeOffset(2026, 12, 7, 0, 5, 0, TimeSpan.Zero)));
        after.Load(before.Save());
        var (day, domain, policies) = Assert.Single(after.TakeFinishedDays());
        Assert.Equal((new DateOnly(2026, 12, 6), "partner.test"), (day, domain));
        var aggregate = Assert.Single(policies);
        Assert.Equal(1, aggregate.Successes);
        Assert.Equal(1, aggregate.Failures["validation-failure\nmx.partner.test\n192.0.2.1"]);
    }
}
