using System.Collections.Concurrent;
using System.Net;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// A server on a PostgreSQL cluster of its own, under SMTP load, while the cluster is stopped
/// (immediate: as a crash) and started again. Sessions opened before the outage stay open; what each
/// protocol answered during it, and what was kept, are recorded for the tests below.
/// </summary>
public sealed class DatabaseOutage : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, bool> _acked = new();
    private int _temporary;
    private int _other;

    public PostgresCluster Cluster { get; private set; } = null!;

    public TestServer Server { get; private set; } = null!;

    /// <summary>Command, then the reply (SMTP) or the tagged line (IMAP), on sessions opened before the outage.</summary>
    public Dictionary<string, string> SmtpDuring { get; } = [];

    public Dictionary<string, string> ImapDuring { get; } = [];

    public string ImapAfter { get; private set; } = "";

    public string NewLoginDuring { get; private set; } = "";

    public HttpResponseMessage ApiDuring { get; private set; } = null!;

    public HttpResponseMessage HealthDuring { get; private set; } = null!;

    public string HealthBodyDuring { get; private set; } = "";

    public int AckedBeforeRestart { get; private set; }

    public IReadOnlyCollection<string> Acked => _acked.Keys.ToList();

    public int TemporaryFailures => _temporary;

    public int OtherFailures => _other;

    /// <summary>Message-ID local parts of alice's INBOX after recovery, as a fresh IMAP session lists them.</summary>
    public List<string> StoredAfter { get; } = [];

    public async Task InitializeAsync()
    {
        Cluster = await PostgresCluster.StartNewAsync();
        var connection = await Cluster.CreateDatabaseAsync();
        Server = await TestServer.StartAsync(o =>
        {
            o.Store.Kind = "postgres";
            o.Store.ConnectionString = connection;
        });
        var smtpEndpoint = Server.Server.SmtpEndpoint(SmtpListenerKind.Inbound);
        var imapEndpoint = Server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls);

        await using var smtp = await SmtpRaw.ConnectAsync(smtpEndpoint);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO before.example");
        // One message in the INBOX before the IMAP session selects it, for the commands that read one.
        await smtp.CommandAsync("MAIL FROM:<first@elsewhere.test>");
        await smtp.CommandAsync("RCPT TO:<alice@example.test>");
        await smtp.CommandAsync("DATA");
        await smtp.CommandAsync("Subject: before the outage\r\n\r\nthe first message\r\n.");
        await using var imap = await ImapRaw.ConnectAsync(imapEndpoint, tls: true);
        await imap.GreetingAsync();
        await imap.CommandAsync("a LOGIN alice@example.test alice-dev-password");
        await imap.CommandAsync("b SELECT INBOX");
        var selected = System.Diagnostics.Stopwatch.StartNew();

        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 3).Select(w => Task.Run(() => LoadAsync(smtpEndpoint, w, stop.Token))).ToList();
        await Waiting.UntilAsync(() => _acked.Count >= 30, "the load did not start");

        await Cluster.StopAsync(immediate: true);
        await Waiting.UntilAsync(() => Volatile.Read(ref _temporary) >= 3, "the load saw no temporary failures");

        foreach (var command in new[] { "EHLO during.example", "MAIL FROM:<outage@elsewhere.test>", "RCPT TO:<alice@example.test>", "DATA" })
        {
            var reply = await smtp.CommandAsync(command);
            SmtpDuring[command.Split(' ', ':')[0]] = reply;
            if (command == "DATA" && reply.StartsWith("354", StringComparison.Ordinal))
            {
                SmtpDuring["end of data"] = await smtp.CommandAsync("Subject: during the outage\r\n\r\nkept or refused, never lost\r\n.");
            }
        }

        SmtpDuring["NOOP"] = await smtp.CommandAsync("NOOP");

        // A session's standing (credentials, account state) is read again before a command once a second
        // has passed since the last read: the commands below must meet that read, which needs the store too.
        if (TimeSpan.FromSeconds(1.2) - selected.Elapsed is { Ticks: > 0 } rest)
        {
            await Task.Delay(rest);
        }

        var n = 0;
        foreach (var command in new[] { "NOOP", "STATUS INBOX (MESSAGES UIDNEXT)", "FETCH 1 (BODY.PEEK[])", "UID SEARCH BODY outage", "STORE 1 +FLAGS (\\Seen)", "SELECT INBOX", "LIST \"\" \"*\"", "APPEND INBOX {13+}\r\nSubject: x\r\n" })
        {
            var tag = "o" + n++;
            var lines = await imap.CommandAsync(tag + " " + command);
            ImapDuring[command.Split(' ')[0] + (command.StartsWith("FETCH", StringComparison.Ordinal) ? " BODY" : "")] = lines.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Last();
        }

        await using (var fresh = await ImapRaw.ConnectAsync(imapEndpoint, tls: true))
        {
            await fresh.GreetingAsync();
            NewLoginDuring = (await fresh.CommandAsync("n LOGIN bob@example.test bob-dev-password")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Last();
        }

        var api = new ApiClient(Server);
        ApiDuring = await api.SendAsync(HttpMethod.Post, "/api/v1/sign-in", new { address = "alice@example.test", password = "alice-dev-password" });
        using (var http = Server.HttpClient(await Server.HandshakeAsync("localhost")))
        {
            HealthDuring = await http.GetAsync(new Uri(Server.Https, "/health"));
            HealthBodyDuring = await HealthDuring.Content.ReadAsStringAsync();
        }

        AckedBeforeRestart = _acked.Count;
        await Cluster.StartAgainAsync();
        await Waiting.UntilAsync(() => _acked.Count >= AckedBeforeRestart + 30, "delivery did not resume by itself");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        ImapAfter = (await imap.CommandAsync("r SELECT INBOX")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Last();

        using var reader = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await reader.ConnectAsync(imapEndpoint.Address.ToString(), imapEndpoint.Port, SecureSocketOptions.SslOnConnect);
        await reader.AuthenticateAsync("alice@example.test", "alice-dev-password");
        await reader.Inbox.OpenAsync(FolderAccess.ReadOnly);
        foreach (var summary in await reader.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope))
        {
            if (summary.Envelope?.MessageId is { } id && id.EndsWith("@outage.test", StringComparison.Ordinal))
            {
                StoredAfter.Add(id.Split('@')[0]);
            }
        }
    }

    private async Task LoadAsync(IPEndPoint endpoint, int worker, CancellationToken ct)
    {
        var i = 0;
        while (!ct.IsCancellationRequested)
        {
            var id = $"w{worker}-{i++}";
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("load@elsewhere.test"));
            message.To.Add(MailboxAddress.Parse("alice@example.test"));
            message.Subject = "load " + id;
            message.MessageId = id + "@outage.test";
            message.Body = new TextPart("plain") { Text = "message " + id };
            try
            {
                using var client = new SmtpClient { Timeout = 20_000 };
                await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.None, ct);
                await client.SendAsync(message, ct);
                _acked[id] = true;
                await client.DisconnectAsync(true, ct);
            }
            catch (SmtpCommandException ex) when ((int)ex.StatusCode is >= 400 and < 500)
            {
                Interlocked.Increment(ref _temporary);
                await Task.Delay(100, CancellationToken.None);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                Interlocked.Increment(ref _other);
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Cluster.StopAndDeleteAsync();
    }
}

public sealed class OutageTests(DatabaseOutage outage) : IClassFixture<DatabaseOutage>
{
    [Fact]
    public void Every_failed_delivery_under_load_was_a_temporary_one()
    {
        Assert.True(outage.TemporaryFailures > 0);
        Assert.Equal(0, outage.OtherFailures);
    }

    [Fact]
    public void Every_acknowledged_message_is_stored_exactly_once_after_recovery()
    {
        Assert.True(outage.Acked.Count > outage.AckedBeforeRestart, "nothing was delivered after the database returned");
        Assert.Equal(outage.StoredAfter.Count, outage.StoredAfter.Distinct().Count());
        Assert.Empty(outage.Acked.Except(outage.StoredAfter));
    }

    [Fact]
    public void An_smtp_transaction_during_the_outage_ends_in_a_temporary_failure_and_the_session_stays()
    {
        var replies = outage.SmtpDuring.Values.ToList();
        Assert.DoesNotContain(replies, r => r.StartsWith('5'));
        Assert.Contains(replies, r => r.StartsWith("451", StringComparison.Ordinal));
        Assert.StartsWith("250", outage.SmtpDuring["NOOP"]);
    }

    [Theory]
    [InlineData("STATUS")]
    [InlineData("FETCH BODY")]
    [InlineData("UID")]
    [InlineData("STORE")]
    [InlineData("SELECT")]
    [InlineData("LIST")]
    [InlineData("APPEND")]
    public void An_imap_command_that_needs_the_store_answers_no_unavailable(string command)
    {
        Assert.Contains(" NO [UNAVAILABLE]", outage.ImapDuring[command]);
    }

    [Fact]
    public void The_imap_session_from_before_the_outage_works_after_it()
    {
        Assert.StartsWith("r OK", outage.ImapAfter);
    }

    [Fact]
    public void A_login_during_the_outage_answers_unavailable_not_a_failed_password()
    {
        Assert.Contains("NO [UNAVAILABLE]", outage.NewLoginDuring);
    }

    [Fact]
    public void The_api_answers_503_with_retry_after()
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, outage.ApiDuring.StatusCode);
        Assert.NotNull(outage.ApiDuring.Headers.RetryAfter);
    }

    [Fact]
    public void Health_says_the_store_is_unreachable()
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, outage.HealthDuring.StatusCode);
        Assert.Contains("store", outage.HealthBodyDuring);
        Assert.Contains("\"status\":\"degraded\"", outage.HealthBodyDuring);
    }
}
