using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// Several sessions on one mailbox see each other's changes only where RFC 9051 §7 allows, and IDLE is
/// woken by an SMTP delivery: on SQLite and on PostgreSQL (where the wake-up travels through NOTIFY).
/// </summary>
public sealed class ImapLiveUpdateTests : ImapTestBase
{
    private string _storeKind = "sqlite";
    private string? _connection;

    public override Task InitializeAsync() => Task.CompletedTask;

    private async Task StartAsync(string storeKind)
    {
        _storeKind = storeKind;
        if (storeKind == "postgres")
        {
            _connection = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        }

        await base.InitializeAsync();
    }

    protected override void Configure(Sealpost.Core.Configuration.SealpostOptions options)
    {
        options.Store.Kind = _storeKind;
        options.Store.ConnectionString = _connection;
    }

    public override async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await base.DisposeAsync();
        }
    }

    /// <summary>Starts the server on the store, delivers that many messages, and opens INBOX in two sessions (a1, b1 used).</summary>
    private async Task<(ImapRaw A, ImapRaw B)> TwoSessionsOnInboxAsync(string storeKind, int messages)
    {
        await StartAsync(storeKind);
        for (var i = 1; i <= messages; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        var a = await LoginAsync();
        var b = await LoginAsync();
        await a.CommandAsync("a1 SELECT INBOX");
        await b.CommandAsync("b1 SELECT INBOX");
        return (a, b);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Two_sessions_see_flags_expunges_and_moves_in_order(string storeKind)
    {
        var (a, b) = await TwoSessionsOnInboxAsync(storeKind, messages: 3);
        await using var closeA = a;
        await using var closeB = b;

        Assert.Contains("a2 OK", await a.CommandAsync("a2 STORE 2 +FLAGS.SILENT (\\Flagged)"));
        Assert.Equal("* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\nb2 OK NOOP completed\r\n", await b.CommandAsync("b2 NOOP"));

        await a.CommandAsync("a3 STORE 1 +FLAGS.SILENT (\\Deleted)");
        Assert.Equal("* 1 EXPUNGE\r\na4 OK EXPUNGE completed\r\n", await a.CommandAsync("a4 EXPUNGE"));
        // RFC 9051 §7.5.1: not during FETCH; b still numbers the messages 1..3.
        var fetch = await b.CommandAsync("b3 FETCH 3 (UID)");
        Assert.Equal("* 3 FETCH (UID 3)\r\nb3 OK FETCH completed\r\n", fetch);
        Assert.Equal("* 1 EXPUNGE\r\nb4 OK NOOP completed\r\n", await b.CommandAsync("b4 NOOP"));
        Assert.Equal("* 2 FETCH (UID 3)\r\nb5 OK FETCH completed\r\n", await b.CommandAsync("b5 FETCH 2 (UID)"));

        Assert.Contains("a5 OK MOVE completed", await a.CommandAsync("a5 MOVE 1 Archive"));
        await DeliverAsync(Message("m4"));
        var noop = await b.CommandAsync("b6 NOOP");
        Assert.Equal("* 1 EXPUNGE\r\n* 2 EXISTS\r\n* 1 RECENT\r\nb6 OK NOOP completed\r\n", noop);
        Assert.Equal("* 1 FETCH (UID 3)\r\n* 2 FETCH (UID 4)\r\nb7 OK FETCH completed\r\n", await b.CommandAsync("b7 FETCH 1:* UID"));
    }

    /// <summary>
    /// A session's own STORE or EXPUNGE spares it a look at the change log only when nobody changed the
    /// mailbox in between (MODSEQ one above what it knew): another session's change, made before or after
    /// it, still reaches the client, and the session's own changes are not echoed back.
    /// </summary>
    [Theory]
    [InlineData("sqlite", "before")]
    [InlineData("sqlite", "after")]
    [InlineData("sqlite", "after an expunge")]
    [InlineData("postgres", "before")]
    [InlineData("postgres", "after")]
    [InlineData("postgres", "after an expunge")]
    public async Task Another_sessions_change_is_reported_around_a_sessions_own_writes(string storeKind, string when)
    {
        var (a, b) = await TwoSessionsOnInboxAsync(storeKind, messages: 4);
        await using var closeA = a;
        await using var closeB = b;
        var told = ""; // what a's client hears once b has changed a flag (a STORE may carry the news too)
        string expected;
        if (when == "after an expunge")
        {
            Assert.Contains("a2 OK", await a.CommandAsync("a2 STORE 1 +FLAGS.SILENT (\\Deleted)"));
            Assert.Equal("* 1 EXPUNGE\r\na3 OK EXPUNGE completed\r\n", await a.CommandAsync("a3 EXPUNGE"));
            Assert.Contains("b2 OK", await b.CommandAsync("b2 STORE 3 +FLAGS.SILENT (\\Flagged)"));
            expected = "* 2 FETCH (UID 3 FLAGS (\\Flagged \\Recent))"; // UID 3 is now message 2; a saw it first
        }
        else
        {
            if (when == "before")
            {
                Assert.Contains("b2 OK", await b.CommandAsync("b2 STORE 2 +FLAGS.SILENT (\\Flagged)"));
            }

            var own = await a.CommandAsync("a2 STORE 1 +FLAGS.SILENT (\\Seen)");
            Assert.Contains("a2 OK", own);
            told += when == "before" ? own : "";
            if (when == "after")
            {
                Assert.Contains("b2 OK", await b.CommandAsync("b2 STORE 2 +FLAGS.SILENT (\\Flagged)"));
            }

            own = await a.CommandAsync("a3 STORE 3 +FLAGS.SILENT (\\Seen)");
            Assert.Contains("a3 OK", own);
            told += own;
            expected = "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))";
        }

        told += await a.CommandAsync("a4 NOOP");
        Assert.Single(told.Split("\r\n"), line => line == expected);
        Assert.Single(told.Split("\r\n"), line => line.StartsWith("* ", StringComparison.Ordinal)); // nothing of its own echoed
        Assert.Equal("a5 OK NOOP completed\r\n", await a.CommandAsync("a5 NOOP"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Idle_is_woken_by_smtp_delivery(string storeKind)
    {
        await StartAsync(storeKind);
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        await raw.SendAsync("b IDLE\r\n");
        Assert.Equal("+ idling", await raw.LineAsync());

        await using (var smtp = await SmtpRaw.ConnectAsync(Server.Server.SmtpEndpoint(SmtpListenerKind.Inbound)))
        {
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO client.example.org");
            await smtp.CommandAsync("MAIL FROM:<carol@example.org>");
            await smtp.CommandAsync($"RCPT TO:<{Alice}>");
            await smtp.CommandAsync("DATA");
            Assert.StartsWith("250", await smtp.CommandAsync("Subject: wake up\r\n\r\nnow\r\n."));
        }

        Assert.Equal("* 1 EXISTS", await raw.LineAsync()); // waits up to 10 s
        Assert.Equal("* 1 RECENT", await raw.LineAsync());
        await raw.SendAsync("DONE\r\n");
        Assert.Equal("b OK IDLE terminated\r\n", await raw.UntilTaggedAsync("b"));
        Assert.Contains("Subject: wake up", await raw.CommandAsync("c FETCH 1 BODY.PEEK[HEADER]"));
    }

    [Fact]
    public async Task MailKit_client_does_the_everyday_things()
    {
        await StartAsync("sqlite");
        for (var i = 1; i <= 3; i++)
        {
            await DeliverAsync(Message($"MailKit {i}", $"body {i}"));
        }

        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 10_000 };
        await client.ConnectAsync(Tls.Address.ToString(), Tls.Port, MailKit.Security.SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(Alice, AlicePassword);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Idle));
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Move));
        var folders = await client.GetFoldersAsync(client.PersonalNamespaces[0]);
        Assert.Contains(folders, f => f.Attributes.HasFlag(FolderAttributes.Sent));
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        Assert.Equal(3, inbox.Count);
        var summaries = await inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope | MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.BodyStructure | MessageSummaryItems.Size);
        Assert.Equal(["MailKit 1", "MailKit 2", "MailKit 3"], summaries.Select(s => s.Envelope!.Subject));
        var message = await inbox.GetMessageAsync(summaries[1].UniqueId);
        Assert.Equal("body 2", message.TextBody!.Trim());
        Assert.Equal([summaries[2].UniqueId], await inbox.SearchAsync(SearchQuery.SubjectContains("MailKit 3")));
        await inbox.AddFlagsAsync(summaries[0].UniqueId, MessageFlags.Flagged, true);
        Assert.Single(await inbox.SearchAsync(SearchQuery.Flagged));
        var archive = await client.GetFolderAsync("Archive");
        var copied = await inbox.CopyToAsync(summaries[0].UniqueId, archive);
        Assert.NotNull(copied);
        var moved = await inbox.MoveToAsync(summaries[1].UniqueId, archive);
        Assert.NotNull(moved);
        Assert.Equal(2, inbox.Count);
        var appended = await inbox.AppendAsync(new MimeKit.MimeMessage(new[] { new MimeKit.MailboxAddress("A", Alice) }, new[] { new MimeKit.MailboxAddress("B", Bob) }, "appended by MailKit", new MimeKit.TextPart("plain") { Text = "hi" }), MessageFlags.Seen);
        Assert.NotNull(appended);
        await inbox.AddFlagsAsync(summaries[2].UniqueId, MessageFlags.Deleted, true);
        await inbox.ExpungeAsync();
        Assert.Equal(2, inbox.Count);

        // IDLE until another delivery arrives.
        var arrived = new TaskCompletionSource();
        inbox.CountChanged += (_, _) => arrived.TrySetResult();
        using var done = new CancellationTokenSource();
        var idle = client.IdleAsync(done.Token);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!client.IsIdle && !idle.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10); // until the client has entered IDLE
        }

        await DeliverAsync(Message("during idle"));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        done.Cancel();
        await idle;
        Assert.Equal(3, inbox.Count);
        await client.DisconnectAsync(true);
    }
}
