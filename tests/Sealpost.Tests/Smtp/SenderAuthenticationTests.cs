using System.Net;
using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using Sealpost.Core.Mail;
using Sealpost.Smtp;
using Sealpost.Smtp.Authentication;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>SPF, DKIM and DMARC against a real DNS server (dnsmasq) serving a fixture zone.</summary>
public sealed class SenderAuthenticationTests
{
    private static readonly IPAddress Loopback = IPAddress.Loopback;

    [Theory]
    [InlineData("pass.test", "pass")]
    [InlineData("fail.test", "fail")]
    [InlineData("soft.test", "softfail")]
    [InlineData("neutral.test", "neutral")]
    [InlineData("inc.test", "pass")]
    [InlineData("mx.test", "pass")]
    [InlineData("a.test", "pass")]
    [InlineData("redirect.test", "pass")]
    [InlineData("none.test", "none")]
    [InlineData("two.test", "permerror")]
    [InlineData("loop.test", "permerror")]
    [InlineData("macro.test", "pass")]
    [InlineData("macro-miss.test", "fail")]
    [InlineData("bad-macro.test", "permerror")]
    public async Task Spf_follows_rfc_7208(string domain, string expected)
    {
        using var dns = await DnsServer.StartAsync(
            "--txt-record=pass.test,v=spf1 ip4:127.0.0.0/8 -all",
            "--txt-record=fail.test,v=spf1 ip4:192.0.2.1 -all",
            "--txt-record=soft.test,v=spf1 ~all",
            "--txt-record=neutral.test,v=spf1 ip4:192.0.2.1",
            "--txt-record=inc.test,v=spf1 include:pass.test -all",
            "--txt-record=mx.test,v=spf1 mx -all",
            "--mx-host=mx.test,mail.mx.test,10",
            "--host-record=mail.mx.test,127.0.0.1",
            "--txt-record=a.test,v=spf1 a:host.a.test/24 -all",
            "--host-record=host.a.test,127.0.0.9",
            "--txt-record=redirect.test,v=spf1 redirect=pass.test",
            "--txt-record=two.test,v=spf1 -all",
            "--txt-record=two.test,v=spf1 +all",
            "--txt-record=loop.test,v=spf1 include:loop.test",
            "--txt-record=macro.test,v=spf1 exists:%{ir}.%{v}.allow.%{d} -all",
            "--host-record=1.0.0.127.in-addr.allow.macro.test,127.0.0.2",
            "--txt-record=macro-miss.test,v=spf1 exists:%{l}.users.%{d} -all",
            "--txt-record=bad-macro.test,v=spf1 exists:%{q}.bad-macro.test -all");
        var spf = new SpfEvaluator(new SenderDns([dns.EndPoint]));
        Assert.Equal(expected, await spf.CheckHostAsync(Loopback, domain, CancellationToken.None));
    }

    [Fact]
    public async Task An_unreachable_dns_server_is_a_temporary_error()
    {
        var spf = new SpfEvaluator(new SenderDns([new IPEndPoint(IPAddress.Loopback, 9)]));
        Assert.Equal("temperror", await spf.CheckHostAsync(Loopback, "pass.test", CancellationToken.None));
    }

    [Fact]
    public async Task Inbound_mail_gets_authentication_results_and_dmarc_reject_is_enforced()
    {
        var generator = new RsaKeyPairGenerator();
        generator.Init(new KeyGenerationParameters(new SecureRandom(), 1024));
        var keys = generator.GenerateKeyPair();
        var publicKey = Convert.ToBase64String(SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(keys.Public).GetDerEncoded());
        using var dns = await DnsServer.StartAsync(
            "--txt-record=signed.test,v=spf1 ip4:192.0.2.1 -all",            // SPF fails from 127.0.0.1...
            $"--txt-record=sel._domainkey.signed.test,v=DKIM1; k=rsa; p={publicKey}", // ...but DKIM passes and aligns
            "--txt-record=_dmarc.signed.test,v=DMARC1; p=reject",
            "--txt-record=evil.test,v=spf1 -all",
            "--txt-record=_dmarc.evil.test,v=DMARC1; p=reject");
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Smtp.DnsServers.Add(dns.EndPoint.ToString());
            o.Smtp.AuthenticationPolicy = "reject";
        });
        var inbound = server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("news@signed.test"));
        message.To.Add(MailboxAddress.Parse("bob@example.test"));
        message.Subject = "Signed";
        message.Headers.Add("Authentication-Results", "mail.example.test; dkim=pass (forged by the sender)");
        message.Body = new TextPart("plain") { Text = "Signed body.\r\n" };
        var signer = new DkimSigner(keys.Private, "signed.test", "sel")
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        signer.Sign(message, [HeaderId.From, HeaderId.To, HeaderId.Subject]);

        Assert.StartsWith("250 2.0.0", await SendAsync(inbound, "news@signed.test", message));
        var r = server.Server.Runtime;
        var (bob, session) = (await r.Directory.LoginAsync("bob@example.test", "bob-dev-password"))!.Value;
        using (session)
        {
            var inbox = (await r.Store.Mail.FindMailboxByRoleAsync(bob.Id, MailboxRole.Inbox))!;
            using var opened = await r.Reader.OpenAsync(session, Assert.Single(await r.Store.Mail.ListMessagesAsync(inbox.Id, UidRange.All)));
            var stored = Encoding.UTF8.GetString(await opened.ReadAllAsync());
            Assert.Contains("Authentication-Results: mail.example.test;\r\n\tspf=fail smtp.mailfrom=signed.test;\r\n\tdkim=pass header.d=signed.test;\r\n\tdmarc=pass header.from=signed.test", stored);
            Assert.DoesNotContain("forged by the sender", stored);
        }

        var forged = new MimeMessage();
        forged.From.Add(MailboxAddress.Parse("ceo@evil.test"));
        forged.To.Add(MailboxAddress.Parse("bob@example.test"));
        forged.Subject = "Wire the money";
        forged.Body = new TextPart("plain") { Text = "Now.\r\n" };
        Assert.StartsWith("550 5.7.1", await SendAsync(inbound, "ceo@evil.test", forged));
        Assert.Contains("[4008]", server.Logs.ToString());
    }

    private static async Task<string> SendAsync(IPEndPoint endpoint, string from, MimeMessage message)
    {
        var bytes = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, bytes);
        var text = Encoding.UTF8.GetString(bytes.ToArray());
        var stuffed = string.Join("\r\n", text.Split("\r\n").Select(l => l.StartsWith('.') ? "." + l : l));
        await using var smtp = await SmtpRaw.ConnectAsync(endpoint);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO sender.example");
        await smtp.CommandAsync($"MAIL FROM:<{from}>");
        await smtp.CommandAsync("RCPT TO:<bob@example.test>");
        await smtp.CommandAsync("DATA");
        return await smtp.CommandAsync(stuffed.TrimEnd('\r', '\n') + "\r\n.");
    }
}
