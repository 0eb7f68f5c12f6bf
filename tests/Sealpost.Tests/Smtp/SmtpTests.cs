using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Core.Mail;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>SMTP over real sockets: raw transcripts, MailKit, Python's smtplib and openssl, into the sealed store.</summary>
public sealed class SmtpTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Limits.MaxMessageBytes = 200_000;
        o.Smtp.AllowPlaintextAuthOnLoopback = true; // a --dev option: lets raw transcripts log in without TLS
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private System.Net.IPEndPoint Inbound => _server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);
    private System.Net.IPEndPoint Submission => _server.Server.SmtpEndpoint(SmtpListenerKind.Submission);
    private System.Net.IPEndPoint SubmissionTls => _server.Server.SmtpEndpoint(SmtpListenerKind.SubmissionImplicitTls);

    private async Task<List<byte[]>> InboxAsync(string address, string password)
    {
        var r = _server.Server.Runtime;
        var (account, session) = (await r.Directory.LoginAsync(address, password))!.Value;
        using (session)
        {
            var inbox = (await r.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!;
            var result = new List<byte[]>();
            foreach (var message in await r.Store.Mail.ListMessagesAsync(inbox.Id, UidRange.All))
            {
                using var opened = await r.Reader.OpenAsync(session, message);
                result.Add(await opened.ReadAllAsync());
            }

            return result;
        }
    }

    private static SmtpClient Client() => new() { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 10_000 };

    private static MimeMessage Message(string from, string subject, params string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "Hello from the test.\r\n.leading dot line\r\n" };
        return message;
    }

    private static string WithoutTrace(byte[] stored)
    {
        var text = Encoding.UTF8.GetString(stored);
        var lines = text.Split("\r\n").ToList();
        while (lines[0].StartsWith("Return-Path:", StringComparison.Ordinal) || lines[0].StartsWith("Received:", StringComparison.Ordinal))
        {
            lines.RemoveAt(0);
        }

        return string.Join("\r\n", lines);
    }

    [Fact]
    public async Task Submission_with_starttls_delivers_to_users_aliases_and_groups_each_sealed_once_per_account()
    {
        using var client = Client();
        await client.ConnectAsync("127.0.0.1", Submission.Port, SecureSocketOptions.StartTls);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Chunking));
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        var message = Message("alice@example.test", "Team lunch", "bob@example.test", "postmaster@example.test", "team@example.test");
        await client.SendAsync(message);
        await client.DisconnectAsync(true);

        var original = new MemoryStream();
        await message.WriteToAsync(FormatOptions.Default.Clone() is var f && (f.NewLineFormat = NewLineFormat.Dos) == NewLineFormat.Dos ? f : f, original);
        var expected = Encoding.UTF8.GetString(original.ToArray());

        var bob = Assert.Single(await InboxAsync("bob@example.test", "bob-dev-password"));
        var alice = Assert.Single(await InboxAsync("alice@example.test", "alice-dev-password")); // postmaster and team reach alice once
        Assert.Equal(expected, WithoutTrace(bob));
        Assert.Equal(expected, WithoutTrace(alice));
        Assert.StartsWith("Return-Path: <alice@example.test>\r\nReceived: from ", Encoding.UTF8.GetString(bob));
        Assert.Contains(" with ESMTPSA id ", Encoding.UTF8.GetString(bob));
    }

    [Fact]
    public async Task Remote_recipients_of_submitted_mail_go_to_the_sealed_outbound_queue()
    {
        using (var client = Client())
        {
            await client.ConnectAsync("127.0.0.1", Submission.Port, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
            await client.SendAsync(Message("alice@example.test", "QueueMarkerZ7Q2 outward", "partner@other-org.example", "bob@example.test"));
            await client.DisconnectAsync(true);
        }

        Assert.Single(await InboxAsync("bob@example.test", "bob-dev-password"));
        var runtime = _server.Server.Runtime;
        var entry = Assert.Single(await runtime.Store.Queue.ListAsync());
        var outbound = runtime.QueueSealer.Open(entry);
        Assert.Equal("alice@example.test", outbound.ReturnPath);
        Assert.Equal(["partner@other-org.example"], outbound.Recipients);
        Assert.Contains("QueueMarkerZ7Q2", Encoding.UTF8.GetString(outbound.Message));
        Assert.Empty(new MarkerScanner(["QueueMarkerZ7Q2"]).Scan("queue entry", entry.Sealed));

        // Port 25 still refuses relaying for the unauthenticated.
        await using var inbound = await SmtpRaw.ConnectAsync(Inbound);
        await inbound.ReplyAsync();
        await inbound.CommandAsync("EHLO x.example");
        await inbound.CommandAsync("MAIL FROM:<a@remote.example>");
        Assert.StartsWith("554 5.7.1", await inbound.CommandAsync("RCPT TO:<partner@other-org.example>"));
    }

    [Fact]
    public async Task Implicit_tls_submission_works_and_adds_a_missing_message_id_and_date()
    {
        using var client = Client();
        await client.ConnectAsync("127.0.0.1", SubmissionTls.Port, SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync("bob@example.test", "bob-dev-password");
        var message = Message("bob@example.test", "Minimal", "alice@example.test");
        message.Headers.Remove(HeaderId.MessageId);
        message.Headers.Remove(HeaderId.Date);
        await client.SendAsync(message);
        await client.DisconnectAsync(true);

        var stored = Encoding.UTF8.GetString(Assert.Single(await InboxAsync("alice@example.test", "alice-dev-password")));
        Assert.Contains("\r\nMessage-ID: <", stored);
        Assert.Contains("\r\nDate: ", stored);
    }

    [Fact]
    public async Task Submission_refuses_senders_the_account_does_not_own_and_unauthenticated_mail()
    {
        using var client = Client();
        await client.ConnectAsync("127.0.0.1", Submission.Port, SecureSocketOptions.StartTls);
        var unauthenticated = await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => client.SendAsync(Message("alice@example.test", "x", "bob@example.test")));
        Assert.Contains("5.7.0", unauthenticated.Message);
        await client.AuthenticateAsync("alice@example.test", "alice-dev-password");
        var forged = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("bob@example.test", "x", "bob@example.test")));
        Assert.Equal(553, (int)forged.StatusCode);
        Assert.Contains("does not belong", forged.Message);
        await client.SendAsync(Message("postmaster@example.test", "as my alias", "bob@example.test")); // an alias of alice's is hers to use
    }

    [Fact]
    public async Task Wrong_passwords_are_refused_and_too_many_close_the_connection()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Submission);
        Assert.StartsWith("220 ", await smtp.ReplyAsync());
        Assert.Contains("AUTH PLAIN LOGIN", await smtp.CommandAsync("EHLO test")); // loopback development option in this test server
        var bad = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@example.test\0wrong"));
        Assert.StartsWith("535 5.7.8", await smtp.CommandAsync("AUTH PLAIN " + bad));
        Assert.StartsWith("535 5.7.8", await smtp.CommandAsync("AUTH PLAIN " + bad));
        Assert.StartsWith("421 4.7.0", await smtp.CommandAsync("AUTH PLAIN " + bad));
        Assert.True(await smtp.ClosedAsync());
    }

    [Fact]
    public async Task Auth_login_works_and_port_25_offers_no_auth()
    {
        await using (var smtp = await SmtpRaw.ConnectAsync(Submission))
        {
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO test");
            Assert.StartsWith("334 VXNlcm5hbWU6", await smtp.CommandAsync("AUTH LOGIN"));
            var r2 = await smtp.CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("bob@example.test")));
            Assert.True(r2.StartsWith("334 UGFzc3dvcmQ6", StringComparison.Ordinal), r2 + _server.Logs);
            Assert.StartsWith("235 2.7.0", await smtp.CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("bob-dev-password"))));
        }

        await using var inbound = await SmtpRaw.ConnectAsync(Inbound);
        await inbound.ReplyAsync();
        var ehlo = await inbound.CommandAsync("EHLO peer.example");
        Assert.DoesNotContain("AUTH", ehlo);
        Assert.Contains("STARTTLS", ehlo);
        Assert.StartsWith("503 5.5.1", await inbound.CommandAsync("AUTH PLAIN AGFsaWNlAHg="));
    }

    [Fact]
    public async Task Inbound_pipelined_transaction_with_unknown_and_relay_recipients()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO mx.remote.example");
        // One write, several commands (RFC 2920): replies come back in order.
        await smtp.SendAsync("MAIL FROM:<sender@remote.example> SIZE=100\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<someone@elsewhere.example>\r\nRCPT TO:<Bob@Example.Test>\r\nDATA\r\n");
        Assert.StartsWith("250 2.1.0", await smtp.ReplyAsync());
        Assert.StartsWith("550 5.1.1", await smtp.ReplyAsync());
        Assert.StartsWith("554 5.7.1", await smtp.ReplyAsync());
        Assert.StartsWith("250 2.1.5", await smtp.ReplyAsync());
        Assert.StartsWith("354", await smtp.ReplyAsync());
        await smtp.SendAsync("Subject: pipelined\r\n\r\n..dot-stuffed\r\nline\r\n.\r\n");
        Assert.StartsWith("250 2.0.0", await smtp.ReplyAsync());
        Assert.StartsWith("221", await smtp.CommandAsync("QUIT"));

        var stored = Encoding.UTF8.GetString(Assert.Single(await InboxAsync("bob@example.test", "bob-dev-password")));
        Assert.EndsWith("Subject: pipelined\r\n\r\n.dot-stuffed\r\nline\r\n", stored);
        Assert.Contains(" with ESMTP id ", stored);
    }

    [Fact]
    public async Task Bare_line_feeds_are_refused_and_never_end_the_data()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO x.example");
        await smtp.CommandAsync("MAIL FROM:<a@remote.example>");
        await smtp.CommandAsync("RCPT TO:<bob@example.test>");
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        // "\n.\n" and "\n.\r\n" are data, not the end; a smuggled second transaction stays inside this message.
        await smtp.SendAsync("Subject: smuggle\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\n.\r\nRCPT TO:<bob@example.test>\r\n.\r\n");
        Assert.StartsWith("550 5.6.11", await smtp.ReplyAsync());
        Assert.StartsWith("250", await smtp.CommandAsync("NOOP"));
        Assert.Empty(await InboxAsync("bob@example.test", "bob-dev-password"));
    }

    [Fact]
    public async Task An_oversize_message_is_read_to_its_end_refused_and_the_session_goes_on()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        Assert.Contains("SIZE 200000", await smtp.CommandAsync("EHLO x.example"));
        Assert.StartsWith("552 5.3.4", await smtp.CommandAsync("MAIL FROM:<a@remote.example> SIZE=999999"));
        await smtp.CommandAsync("MAIL FROM:<a@remote.example>");
        await smtp.CommandAsync("RCPT TO:<bob@example.test>");
        await smtp.CommandAsync("DATA");
        var line = new string('x', 998) + "\r\n";
        var big = new StringBuilder("Subject: big\r\n\r\n");
        while (big.Length < 300_000)
        {
            big.Append(line);
        }

        await smtp.SendAsync(big.Append(".\r\n").ToString());
        Assert.StartsWith("552 5.3.4", await smtp.ReplyAsync());
        Assert.StartsWith("250", await smtp.CommandAsync("RSET"));
        Assert.StartsWith("250 2.1.0", await smtp.CommandAsync("MAIL FROM:<a@remote.example>"));
    }

    [Fact]
    public async Task Bdat_chunks_make_one_message()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO x.example");
        await smtp.CommandAsync("MAIL FROM:<a@remote.example>");
        await smtp.CommandAsync("RCPT TO:<bob@example.test>");
        var part1 = "Subject: chunks\r\n\r\nfirst ";
        var part2 = "second\r\n.not stuffed\r\n";
        await smtp.SendAsync($"BDAT {Encoding.UTF8.GetByteCount(part1)}\r\n{part1}");
        Assert.StartsWith("250", await smtp.ReplyAsync());
        await smtp.SendAsync($"BDAT {Encoding.UTF8.GetByteCount(part2)} LAST\r\n{part2}");
        Assert.StartsWith("250 2.0.0", await smtp.ReplyAsync());
        Assert.EndsWith(part1 + part2, Encoding.UTF8.GetString(Assert.Single(await InboxAsync("bob@example.test", "bob-dev-password"))));
        Assert.StartsWith("501", await smtp.CommandAsync("BDAT lots"));
    }

    [Fact]
    public async Task Grammar_and_sequence_errors_get_the_right_codes()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        // Before EHLO there are no enhanced status codes (RFC 2034 §3).
        Assert.Equal("503 Send EHLO or HELO first", await smtp.CommandAsync("MAIL FROM:<a@remote.example>"));
        Assert.StartsWith("501", await smtp.CommandAsync("EHLO"));
        await smtp.CommandAsync("EHLO x.example");
        Assert.StartsWith("500 5.5.2", await smtp.CommandAsync("FROB"));
        Assert.StartsWith("501 5.5.4", await smtp.CommandAsync("MAIL FROM:a@remote.example"));
        Assert.StartsWith("503 5.5.1", await smtp.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("503 5.5.1", await smtp.CommandAsync("DATA"));
        Assert.StartsWith("252 2.1.5", await smtp.CommandAsync("VRFY bob"));
        Assert.StartsWith("252 2.1.5", await smtp.CommandAsync("EXPN team"));
        Assert.StartsWith("214", await smtp.CommandAsync("HELP"));
        Assert.StartsWith("501", await smtp.CommandAsync("NOOP\0with nul"));
        Assert.StartsWith("500 5.5.6", await smtp.CommandAsync("NOOP " + new string('a', 20_000)));
        await smtp.SendAsync("MAIL FROM:<üser@remote.example>\r\n");
        Assert.StartsWith("553 5.6.7", await smtp.ReplyAsync());
        Assert.StartsWith("250 2.1.0", await smtp.CommandAsync("MAIL FROM:<üser@remote.example> SMTPUTF8"));
        Assert.StartsWith("550 5.1.1", await smtp.CommandAsync("RCPT TO:<ünknown@example.test>"));
    }

    [Fact]
    public async Task A_ten_megabyte_line_is_refused_without_holding_it()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Inbound);
        await smtp.ReplyAsync();
        var chunk = Encoding.ASCII.GetBytes(new string('h', 1024 * 1024));
        await smtp.SendAsync("X-Header: ");
        for (var i = 0; i < 10; i++)
        {
            await smtp.SendAsync(chunk);
        }

        await smtp.SendAsync("\r\n");
        Assert.Equal("500 Line too long", await smtp.ReplyAsync());
        Assert.StartsWith("250", await smtp.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Commands_pipelined_after_starttls_are_refused_and_the_connection_closed()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(Submission);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO x.example");
        await smtp.SendAsync("STARTTLS\r\nMAIL FROM:<injected@x.example>\r\n");
        Assert.StartsWith("554 5.5.1", await smtp.ReplyAsync());
        Assert.True(await smtp.ClosedAsync());
    }

    [Fact]
    public async Task Openssl_starttls_then_ehlo_offers_auth_and_a_fresh_state()
    {
        var script = "EHLO tls.example\r\nQUIT\r\n";
        var (_, output) = await Tools.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{Submission.Port}", "-starttls", "smtp", "-quiet"], script, TimeSpan.FromSeconds(10));
        Assert.Contains("250-AUTH PLAIN LOGIN", output);
        Assert.Contains("250-REQUIRETLS", output);
        Assert.DoesNotContain("250-STARTTLS", output);
        Assert.Contains("221 2.0.0", output);
    }

    [Fact]
    public async Task Swaks_sends_with_starttls_and_auth_and_over_implicit_tls()
    {
        var (exit, output) = await Tools.RunAsync("swaks",
        [
            "--server", $"127.0.0.1:{Submission.Port}", "-tls", "--auth", "PLAIN", "--auth-user", "bob@example.test", "--auth-password", "bob-dev-password",
            "--from", "bob@example.test", "--to", "alice@example.test", "--header", "Subject: from swaks starttls", "--body", "one",
        ], timeout: TimeSpan.FromSeconds(10));
        Assert.True(exit == 0, output);
        (exit, output) = await Tools.RunAsync("swaks",
        [
            "--server", $"127.0.0.1:{SubmissionTls.Port}", "--tls-on-connect", "--auth", "LOGIN", "--auth-user", "bob@example.test", "--auth-password", "bob-dev-password",
            "--from", "bob@example.test", "--to", "alice@example.test", "--header", "Subject: from swaks tls", "--body", "two",
        ], timeout: TimeSpan.FromSeconds(10));
        Assert.True(exit == 0, output);
        var subjects = (await InboxAsync("alice@example.test", "alice-dev-password")).Select(Encoding.UTF8.GetString).ToList();
        Assert.Contains(subjects, m => m.Contains("Subject: from swaks starttls"));
        Assert.Contains(subjects, m => m.Contains("Subject: from swaks tls"));
    }

    [Fact]
    public async Task Starttls_picks_the_certificate_by_sni()
    {
        using var certs = new TempFolder();
        var certFile = certs.Sub("other.pem");
        var keyFile = certs.Sub("other.key");
        Sealpost.Server.Tls.DevCertificate.Create(certFile, keyFile, "smtp.other.test");
        Sealpost.Server.Tls.DevCertificate.Create(certs.Sub("main.pem"), certs.Sub("main.key"), "mail.example.test");
        await using var server = await TestServer.StartAsync(o => o.Tls.Certificates.AddRange(
        [
            new Sealpost.Core.Configuration.CertificateOptions { CertificateFile = certs.Sub("main.pem"), KeyFile = certs.Sub("main.key") },
            new Sealpost.Core.Configuration.CertificateOptions { CertificateFile = certFile, KeyFile = keyFile, Hosts = ["smtp.other.test"] },
        ]));
        var port = server.Server.SmtpEndpoint(SmtpListenerKind.Submission).Port;
        async Task<string> SubjectFor(string name) =>
            (await Tools.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-starttls", "smtp", "-servername", name, "-brief"], "QUIT\r\n", TimeSpan.FromSeconds(10))).Output;
        Assert.Contains("CN = smtp.other.test", await SubjectFor("smtp.other.test"));
        Assert.Contains("CN = mail.example.test", await SubjectFor("unknown.example"));
    }

    [Fact]
    public async Task Python_smtplib_sends_through_submission()
    {
        var script = $$"""
            import smtplib, ssl
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP("127.0.0.1", {{Submission.Port}}, timeout=10) as s:
                s.starttls(context=context)
                s.login("bob@example.test", "bob-dev-password")
                s.sendmail("bob@example.test", ["alice@example.test"], "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: from python\r\n\r\nhi\r\n")
            print("sent")
            """;
        var (exit, output) = await Tools.RunAsync("python3", ["-c", script], timeout: TimeSpan.FromSeconds(10));
        Assert.True(exit == 0, output);
        Assert.Contains("Subject: from python", Encoding.UTF8.GetString(Assert.Single(await InboxAsync("alice@example.test", "alice-dev-password"))));
    }
}
