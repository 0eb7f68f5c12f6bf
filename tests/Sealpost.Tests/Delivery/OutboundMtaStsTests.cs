using System.Diagnostics;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// MTA-STS (RFC 8461) against a local HTTPS policy server and DNS: an enforced policy sends only to
/// matching MX hosts and only over TLS with a verified certificate; "testing" changes nothing.
/// </summary>
public sealed class OutboundMtaStsTests : IDisposable
{
    private readonly TestCa _trusted = new("Trusted Test CA");
    private readonly TestCa _untrusted = new("Untrusted Test CA");

    public void Dispose()
    {
        _trusted.Dispose();
        _untrusted.Dispose();
    }

    private async Task<(SmtpReceiver Receiver, TestServer Server, DnsServer Dns, Process Policy)> StartAsync(string mode, string mxPattern, bool receiverTrusted)
    {
        var (receiverCert, receiverKey) = (receiverTrusted ? _trusted : _untrusted).Issue("mx.partner.test");
        var receiver = await SmtpReceiver.StartAsync(receiverCert, receiverKey);
        var policyFile = Path.Combine(Path.GetTempPath(), $"sealpost-mta-sts-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(policyFile, $"version: STSv1\r\nmode: {mode}\r\nmx: {mxPattern}\r\nmax_age: 86400\r\n");
        var (policyCert, policyKey) = _trusted.Issue("mta-sts.partner.test");
        var info = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Fixtures", "mtasts", "policy_server.py"));
        info.ArgumentList.Add(policyCert);
        info.ArgumentList.Add(policyKey);
        info.ArgumentList.Add(policyFile);
        var policy = Process.Start(info)!;
        var port = int.Parse((await policy.StandardOutput.ReadLineAsync())![5..], System.Globalization.CultureInfo.InvariantCulture);

        var dns = await DnsServer.StartAsync(
            "--mx-host=partner.test,mx.partner.test,10",
            "--host-record=mx.partner.test,127.0.0.1",
            "--host-record=mta-sts.partner.test,127.0.0.1",
            "--txt-record=_mta-sts.partner.test,v=STSv1; id=20261204T000000");
        var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            o.Delivery.TestMxPort = receiver.Port;
            o.Delivery.TestMtaStsPort = port;
            o.Delivery.TestTrustedRootsFile = _trusted.RootFile;
        });
        await server.SendAsAliceAsync("under a policy", "carol@partner.test");
        return (receiver, server, dns, policy);
    }

    private static async Task<string?> DeliverOnceAsync(TestServer server)
    {
        await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, new ManualTime(DateTimeOffset.UtcNow)).RunOnceAsync(CancellationToken.None);
        return (await server.Server.Runtime.Queue.ListAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, CancellationToken.None)).SingleOrDefault()?.LastError;
    }

    private static async Task StopAsync((SmtpReceiver Receiver, TestServer Server, DnsServer Dns, Process Policy) set)
    {
        await set.Server.DisposeAsync();
        set.Receiver.Dispose();
        set.Dns.Dispose();
        set.Policy.StandardInput.Close();
        set.Policy.Kill(true);
        set.Policy.Dispose();
    }

    [Fact]
    public async Task An_enforced_policy_delivers_to_a_matching_host_with_a_verified_certificate()
    {
        var set = await StartAsync("enforce", "mx.partner.test", receiverTrusted: true);
        try
        {
            Assert.Null(await DeliverOnceAsync(set.Server));
            Assert.Equal("yes", Assert.Single(set.Receiver.Messages).Headers["X-Receiver-Tls"]);
        }
        finally
        {
            await StopAsync(set);
        }
    }

    [Fact]
    public async Task An_enforced_policy_refuses_a_host_whose_certificate_does_not_verify()
    {
        var set = await StartAsync("enforce", "*.partner.test", receiverTrusted: false);
        try
        {
            Assert.StartsWith("451 4.7.5", await DeliverOnceAsync(set.Server));
            Assert.Empty(set.Receiver.Messages);
        }
        finally
        {
            await StopAsync(set);
        }
    }

    [Fact]
    public async Task An_enforced_policy_refuses_MX_hosts_it_does_not_name()
    {
        var set = await StartAsync("enforce", "mx.elsewhere.test", receiverTrusted: true);
        try
        {
            Assert.Contains("matches its MTA-STS policy", await DeliverOnceAsync(set.Server));
            Assert.Empty(set.Receiver.Messages);
        }
        finally
        {
            await StopAsync(set);
        }
    }

    [Fact]
    public async Task A_fetched_policy_outlives_a_restart_and_its_server_going_away()
    {
        var set = await StartAsync("enforce", "mx.elsewhere.test", receiverTrusted: true);
        try
        {
            Assert.Contains("matches its MTA-STS policy", await DeliverOnceAsync(set.Server));
            // The policy server disappears (an attacker blocking it, say); a new worker starts with an empty memory.
            set.Policy.Kill(true);
            await set.Policy.WaitForExitAsync();
            var retry = Assert.Single(await set.Server.Server.Runtime.Store.Queue.ListAsync()).Id;
            await set.Server.Server.Runtime.Queue.RetryAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, retry, CancellationToken.None);
            Assert.Contains("matches its MTA-STS policy", await DeliverOnceAsync(set.Server));
            Assert.Empty(set.Receiver.Messages);
        }
        finally
        {
            await StopAsync(set);
        }
    }

    [Fact]
    public async Task A_testing_policy_changes_nothing()
    {
        var set = await StartAsync("testing", "mx.elsewhere.test", receiverTrusted: false);
        try
        {
            Assert.Null(await DeliverOnceAsync(set.Server));
            Assert.Single(set.Receiver.Messages);
        }
        finally
        {
            await StopAsync(set);
        }
    }
}
