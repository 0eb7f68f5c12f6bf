using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Crypto.Vault;
using Sealpost.Delivery;
using Sealpost.Imap;
using Sealpost.Server.Hosting;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Delivery;

/// <summary>
/// Mail to other organisations, end to end: submitted over SMTP, routed by MX records from a real
/// DNS server (dnsmasq), delivered to a real receiver (aiosmtpd) that answers as scripted, retried
/// on a clock the test moves, and reported back to the sender as RFC 3464 notifications read over IMAP.
/// </summary>
public sealed class OutboundDeliveryTests : IAsyncLifetime
{
    private DnsServer _dns = null!;
    private SmtpReceiver _receiver = null!;
    private TestServer _server = null!;
    private readonly ManualTime _time = new(DateTimeOffset.UtcNow);

    public async Task InitializeAsync()
    {
        _receiver = await SmtpReceiver.StartAsync();
        _dns = await DnsServer.StartAsync(
            "--mx-host=partner.test,mx.partner.test,10",
            "--host-record=mx.partner.test,127.0.0.1",
            "--mx-host=dead.test,mx.dead.test,10",
            "--host-record=mx.dead.test,127.0.0.2",
            // RFC 7505 null MX: preference 0, the root as exchange.
            "--dns-rr=nullmx.test,15,000000");
        _server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(_dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            o.Delivery.TestMxPort = _receiver.Port;
            o.Delivery.ConnectTimeoutSeconds = 2;
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _receiver.Dispose();
        _dns.Dispose();
    }

    private OutboundWorker Worker() => OutboundDeliveryHost.CreateWorker(_server.Server.Runtime, _time);

    private async Task SubmitAsync(string subject, params string[] to)
    {
        await _server.SendAsAliceAsync(subject, to);
        _time.Now = DateTimeOffset.UtcNow; // the queue stamped it with the real clock
    }

    private async Task<IReadOnlyList<MimeMessage>> AliceInboxAsync()
    {
        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var messages = new List<MimeMessage>();
        for (var i = 0; i < client.Inbox.Count; i++)
        {
            messages.Add(await client.Inbox.GetMessageAsync(i));
        }

        await client.DisconnectAsync(true);
        return messages;
    }

    private static IReadOnlyList<MimeMessage> Reports(IEnumerable<MimeMessage> inbox) =>
        inbox.Where(m => m.Body is MultipartReport).ToList();

    private static (MultipartReport Report, MessageDeliveryStatus Status) Structure(MimeMessage report)
    {
        var multipart = Assert.IsType<MultipartReport>(report.Body);
        Assert.Equal("delivery-status", multipart.ReportType);
        Assert.Equal(3, multipart.Count);
        Assert.IsType<TextPart>(multipart[0]);
        var status = Assert.IsType<MessageDeliveryStatus>(multipart[1]);
        Assert.Equal("auto-replied", report.Headers["Auto-Submitted"]);
        Assert.Equal("dns; mail.example.test", status.StatusGroups[0]["Reporting-MTA"]);
        return (multipart, status);
    }

    [Fact]
    public async Task Submitted_mail_reaches_the_partners_MX_host_and_leaves_the_queue()
    {
        await SubmitAsync("OutboundMarkerK4 hello partner", "carol@partner.test");
        Assert.Equal(1, await Worker().RunOnceAsync(CancellationToken.None));

        var received = Assert.Single(_receiver.Messages);
        Assert.Equal("<alice@example.test>", received.Headers["X-Envelope-From"]);
        Assert.Equal("carol@partner.test", received.Headers["X-Envelope-To"]);
        Assert.Equal("OutboundMarkerK4 hello partner", received.Subject);
        Assert.Empty(await _server.Server.Runtime.Store.Queue.ListAsync());
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ed25519")]
    public async Task Mail_from_a_domain_with_a_DKIM_key_arrives_signed_and_verifies(string algorithm)
    {
        var cli = new CliRunner(_server.Server.Runtime.Options.DataDirectory);
        var created = (await cli.OkAsync("dkim", "create", "--domain", "example.test", "--algorithm", algorithm, "--selector", "k1")).Out;
        Assert.Contains("k1._domainkey.example.test. IN TXT", created);
        var key = (await _server.Server.Runtime.Dkim.ShowAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "example.test", CancellationToken.None)).Active;

        await SubmitAsync("signed on the way out", "carol@partner.test");
        await Worker().RunOnceAsync(CancellationToken.None);

        var received = Assert.Single(_receiver.Messages);
        Assert.Contains("d=example.test", received.Headers[HeaderId.DkimSignature]);
        // The receiver's own X-Envelope-* lines go before the signature, which does not cover them.
        using var raw = new MemoryStream();
        await received.WriteToAsync(raw);
        var (exit, output) = await DkimTests.VerifyWithPythonAsync(raw.ToArray(), key);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task An_alias_forwarding_outside_rewrites_the_sender_with_SRS_and_its_bounce_finds_the_way_back()
    {
        await new CliRunner(_server.Server.Runtime.Options.DataDirectory).OkAsync("alias", "add", "fwd@example.test", "carol@partner.test");
        await using (var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Inbound)))
        {
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO outside.example");
            await smtp.CommandAsync("MAIL FROM:<sender@outside.example>");
            Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<fwd@example.test>"));
            await smtp.CommandAsync("DATA");
            Assert.StartsWith("250", await smtp.CommandAsync("From: sender@outside.example\r\nSubject: forwarded\r\n\r\nhello\r\n."));
        }

        _time.Now = DateTimeOffset.UtcNow;
        await Worker().RunOnceAsync(CancellationToken.None);
        var forwarded = Assert.Single(_receiver.Messages);
        Assert.Equal("carol@partner.test", forwarded.Headers["X-Envelope-To"]);
        var srsAddress = forwarded.Headers["X-Envelope-From"]!.Trim('<', '>');
        Assert.Matches(@"^SRS0=.{4}=..=outside\.example=sender@example\.test$", srsAddress);

        // The partner bounces to the SRS address: we take it and send it on to the original sender.
        await using (var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Inbound)))
        {
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO mx.partner.test");
            await smtp.CommandAsync("MAIL FROM:<>");
            Assert.StartsWith("250", await smtp.CommandAsync($"RCPT TO:<{srsAddress}>"));
            Assert.StartsWith("550", await smtp.CommandAsync($"RCPT TO:<{srsAddress.Replace("=sender@", "=other@", StringComparison.Ordinal)}>"));
            await smtp.CommandAsync("DATA");
            Assert.StartsWith("250", await smtp.CommandAsync("From: MAILER-DAEMON@partner.test\r\nSubject: bounce\r\n\r\nno\r\n."));
        }

        var back = Assert.Single(await _server.Server.Runtime.Queue.ListAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, CancellationToken.None));
        Assert.Equal(("", "sender@outside.example"), (back.ReturnPath, Assert.Single(back.Recipients).Address));
    }

    [Fact]
    public async Task A_later_message_to_the_same_host_reuses_the_idle_connection()
    {
        await using var worker = Worker();
        await SubmitAsync("first of two", "carol@partner.test");
        Assert.Equal(1, await worker.RunOnceAsync(CancellationToken.None));
        await SubmitAsync("second of two", "dave@partner.test");
        Assert.Equal(1, await worker.RunOnceAsync(CancellationToken.None));
        var received = _receiver.Messages;
        Assert.Equal(2, received.Count);
        Assert.Equal(received[0].Headers["X-Receiver-Session"], received[1].Headers["X-Receiver-Session"]);
    }

    [Fact]
    public async Task An_MX_host_with_only_an_IPv6_address_is_reached_over_IPv6()
    {
        using var receiver6 = await SmtpReceiver.StartAsync(host: "::1");
        using var dns = await DnsServer.StartAsync("--mx-host=v6.test,mx.v6.test,10", "--host-record=mx.v6.test,::1");
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            o.Delivery.TestMxPort = receiver6.Port;
        });
        await server.SendAsAliceAsync("over IPv6", "frank@v6.test");
        await OutboundDeliveryHost.CreateWorker(server.Server.Runtime, new ManualTime(DateTimeOffset.UtcNow)).RunOnceAsync(CancellationToken.None);
        Assert.Equal("::1", Assert.Single(receiver6.Messages).Headers["X-Receiver-Peer"]);
    }

    [Fact]
    public async Task A_slow_delivery_keeps_its_lease_so_no_second_worker_sends_it_again()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(_dns.EndPoint.ToString());
            o.Delivery.Enabled = false;
            o.Delivery.TestMxPort = _receiver.Port;
            o.Delivery.LeaseSeconds = 10;
        });
        await server.SendAsAliceAsync("slow peer", "slow@partner.test");
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var store = server.Server.Runtime.Store.Queue;
        await using var first = OutboundDeliveryHost.CreateWorker(server.Server.Runtime, time);
        var delivering = first.RunOnceAsync(CancellationToken.None);
        var leased = await WaitForAsync(async () => (await store.ListAsync()).Single().LeaseUntil);

        // Eight seconds on (the lease has two left), the worker renews it from there.
        time.Advance(TimeSpan.FromSeconds(8));
        await WaitForAsync(async () => (await store.ListAsync()).Single().LeaseUntil > leased ? true : (bool?)null);
        // Past the first lease: without the renewal another worker would take the message now.
        time.Advance(TimeSpan.FromSeconds(4));
        await using var second = OutboundDeliveryHost.CreateWorker(server.Server.Runtime, time);
        Assert.Equal(0, await second.RunOnceAsync(CancellationToken.None));

        await delivering;
        Assert.Single(_receiver.Messages);
        Assert.Empty(await store.ListAsync());
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, "the condition did not come");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_temporary_refusal_is_retried_on_schedule_and_then_delivered()
    {
        await SubmitAsync("retry me", "temp-once@partner.test");
        await using var worker = Worker();
        Assert.Equal(1, await worker.RunOnceAsync(CancellationToken.None));
        Assert.Empty(_receiver.Messages);
        var entry = Assert.Single(await _server.Server.Runtime.Store.Queue.ListAsync());
        Assert.Equal(1, entry.Attempts);
        Assert.Equal(_time.Now + TimeSpan.FromMinutes(5), entry.NextAttemptAt, TimeSpan.FromMilliseconds(1));
        var progress = _server.Server.Runtime.QueueSealer.OpenProgress(entry, _server.Server.Runtime.QueueSealer.Open(entry));
        Assert.StartsWith("451 4.7.1", progress.Recipients[0].LastReply);

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(0, await worker.RunOnceAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await worker.RunOnceAsync(CancellationToken.None));
        Assert.Equal("retry me", Assert.Single(_receiver.Messages).Subject);
        Assert.Empty(await _server.Server.Runtime.Store.Queue.ListAsync());
        Assert.Empty(Reports(await AliceInboxAsync()));
    }

    [Fact]
    public async Task A_permanent_refusal_returns_exactly_one_delivery_status_notification()
    {
        await SubmitAsync("BounceMarkerQ9 refused", "reject-me@partner.test", "dave@partner.test");
        await using var worker = Worker();
        await worker.RunOnceAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(1));
        await worker.RunOnceAsync(CancellationToken.None);

        Assert.Equal(["dave@partner.test"], _receiver.Messages.Select(m => m.Headers["X-Envelope-To"]));
        var report = Assert.Single(Reports(await AliceInboxAsync()));
        Assert.Equal("Undelivered Mail Returned to Sender", report.Subject);
        Assert.Equal("MAILER-DAEMON@mail.example.test", report.From.Mailboxes.Single().Address);
        var (multipart, status) = Structure(report);
        var recipient = Assert.Single(status.StatusGroups.Skip(1), g => g.Count > 0);
        Assert.Equal("rfc822; reject-me@partner.test", recipient["Final-Recipient"]);
        Assert.Equal("failed", recipient["Action"]);
        Assert.Equal("5.1.1", recipient["Status"]);
        Assert.Equal("dns; mx.partner.test", recipient["Remote-MTA"]);
        Assert.StartsWith("smtp; 550 5.1.1", recipient["Diagnostic-Code"]);
        var returned = Assert.IsType<MessagePart>(multipart[2]).Message;
        Assert.Equal("BounceMarkerQ9 refused", returned!.Subject);
        Assert.Empty(await _server.Server.Runtime.Store.Queue.ListAsync());
    }

    [Fact]
    public async Task A_domain_with_a_null_MX_fails_at_once_without_a_connection()
    {
        await SubmitAsync("to nowhere", "someone@nullmx.test");
        await Worker().RunOnceAsync(CancellationToken.None);

        Assert.Empty(_receiver.Messages);
        var (_, status) = Structure(Assert.Single(Reports(await AliceInboxAsync())));
        Assert.Equal("5.1.10", status.StatusGroups[1]["Status"]);
        Assert.Empty(await _server.Server.Runtime.Store.Queue.ListAsync());
    }

    [Fact]
    public async Task A_domain_that_does_not_exist_fails_at_once()
    {
        await SubmitAsync("to a typo", "someone@no-such-domain.test");
        await Worker().RunOnceAsync(CancellationToken.None);

        var (_, status) = Structure(Assert.Single(Reports(await AliceInboxAsync())));
        Assert.Equal("5.1.2", status.StatusGroups[1]["Status"]);
    }

    [Fact]
    public async Task An_unreachable_host_defers_with_the_connection_error_kept_for_operators()
    {
        await SubmitAsync("to a dead host", "someone@dead.test");
        await Worker().RunOnceAsync(CancellationToken.None);

        var view = Assert.Single(await _server.Server.Runtime.Queue.ListAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, CancellationToken.None));
        Assert.Equal(1, view.Attempts);
        Assert.StartsWith("451 4.4.1", view.LastError);
        Assert.Equal(RecipientState.Pending, Assert.Single(view.Recipients).State);
        Assert.Empty(Reports(await AliceInboxAsync()));
    }

    [Fact]
    public async Task A_message_that_keeps_failing_warns_the_sender_and_then_expires_with_a_report()
    {
        await SubmitAsync("ExpiryMarker slow partner", "temp-always@partner.test");
        await using var worker = Worker();
        await worker.RunOnceAsync(CancellationToken.None);
        Assert.Empty(Reports(await AliceInboxAsync()));

        // Past Delivery:WarnAfterHours (4): a "delayed" report, once.
        for (var i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromHours(2));
            await worker.RunOnceAsync(CancellationToken.None);
        }

        var delayed = Assert.Single(Reports(await AliceInboxAsync()));
        Assert.Equal("Delayed Mail (still being retried)", delayed.Subject);
        var (_, delayStatus) = Structure(delayed);
        Assert.Equal("delayed", delayStatus.StatusGroups[1]["Action"]);
        Assert.Equal("4.7.1", delayStatus.StatusGroups[1]["Status"]);
        Assert.NotNull(delayStatus.StatusGroups[1]["Will-Retry-Until"]);

        // Past Delivery:ExpireAfterHours (120): given up, a "failed" report with 4.4.7.
        _time.Advance(TimeSpan.FromHours(120));
        await worker.RunOnceAsync(CancellationToken.None);
        var reports = Reports(await AliceInboxAsync());
        Assert.Equal(2, reports.Count);
        var failed = reports.Single(r => r.Subject == "Undelivered Mail Returned to Sender");
        var (_, failStatus) = Structure(failed);
        Assert.Equal(("failed", "4.4.7"), (failStatus.StatusGroups[1]["Action"], failStatus.StatusGroups[1]["Status"]));
        Assert.Empty(await _server.Server.Runtime.Store.Queue.ListAsync());
        Assert.Empty(_receiver.Messages);
    }

    [Fact]
    public async Task NOTIFY_SUCCESS_to_a_peer_without_DSN_gets_a_relayed_report()
    {
        await Submitter.SendAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Submission), [Submitter.Message("tell me", "carol@partner.test")], new SuccessNotifyClient());
        _time.Now = DateTimeOffset.UtcNow;
        await Worker().RunOnceAsync(CancellationToken.None);

        Assert.Single(_receiver.Messages);
        var report = Assert.Single(Reports(await AliceInboxAsync()));
        Assert.Equal("Successful Mail Delivery Report", report.Subject);
        var (_, status) = Structure(report);
        Assert.Equal(("relayed", "2.0.0"), (status.StatusGroups[1]["Action"], status.StatusGroups[1]["Status"]));
    }

    [Fact]
    public async Task NOTIFY_NEVER_suppresses_the_report()
    {
        await Submitter.SendAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Submission), [Submitter.Message("quiet", "reject-quiet@partner.test")], new NeverNotifyClient());

        _time.Now = DateTimeOffset.UtcNow;
        await Worker().RunOnceAsync(CancellationToken.None);
        Assert.Empty(Reports(await AliceInboxAsync()));
        Assert.Empty(await _server.Server.Runtime.Store.Queue.ListAsync());
    }

    [Fact]
    public async Task The_running_server_delivers_queued_mail_without_being_asked()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(_dns.EndPoint.ToString());
            o.Delivery.TestMxPort = _receiver.Port;
        });
        await server.SendAsAliceAsync("sent by the running worker", "erin@partner.test");

        var received = await _receiver.WaitForAsync(1);
        Assert.Equal("sent by the running worker", received[0].Subject);
    }

    /// <summary>Asks to hear of success and failure (RFC 3461 NOTIFY=SUCCESS,FAILURE).</summary>
    private sealed class SuccessNotifyClient : SmtpClient
    {
        protected override DeliveryStatusNotification? GetDeliveryStatusNotifications(MimeMessage message, MailboxAddress mailbox) =>
            DeliveryStatusNotification.Success | DeliveryStatusNotification.Failure;
    }

    /// <summary>Asks for no delivery status notification at all (RFC 3461 NOTIFY=NEVER).</summary>
    private sealed class NeverNotifyClient : SmtpClient
    {
        protected override DeliveryStatusNotification? GetDeliveryStatusNotifications(MimeMessage message, MailboxAddress mailbox) => DeliveryStatusNotification.Never;
    }
}
