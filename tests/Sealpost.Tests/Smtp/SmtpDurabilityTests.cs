using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Core.Mail;
using Sealpost.Server;
using Sealpost.Server.Hosting;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>A 250 is a promise: the message survives the process being killed right after it.</summary>
public sealed class SmtpDurabilityTests
{
    [Fact]
    public async Task Every_250_comes_after_the_commit_that_covers_it_and_sqlite_runs_synchronous_full()
    {
        await using var test = await TestServer.StartAsync();
        var store = Assert.IsType<Sealpost.Store.Sqlite.SqliteStore>(test.Server.Runtime.Store);
        Assert.Equal(2, await store.WriterPragmaAsync("synchronous")); // 2 = FULL: COMMIT returns after the WAL fsync

        var alice = (await store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse("alice@example.test")))!;
        var inbox = (await store.Mail.FindMailboxByRoleAsync(alice.Id, MailboxRole.Inbox))!;
        var committed = 0; // appends to alice's inbox that a durable commit covers
        store.Committed += changes => Interlocked.Add(ref committed, changes.Count(c => c.MailboxId == inbox.Id && c.Kinds.HasFlag(Sealpost.Core.Storage.ChangeKinds.Appended)));

        await using var smtp = await SmtpRaw.ConnectAsync(test.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.Inbound));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example.org");
        for (var k = 1; k <= 20; k++)
        {
            await smtp.CommandAsync("MAIL FROM:<carol@example.org>");
            await smtp.CommandAsync("RCPT TO:<alice@example.test>");
            await smtp.CommandAsync("DATA");
            Assert.StartsWith("250", await smtp.CommandAsync($"Subject: ordering {k}\r\n\r\nbody\r\n."));
            // The 250 for message k is on the wire: the commit covering it must already have happened.
            Assert.True(Volatile.Read(ref committed) >= k, $"250 for message {k} arrived when only {committed} appends were committed");
        }
    }

    [Fact]
    public async Task Every_message_answered_250_survives_sigkill_exactly_once_and_none_is_partial()
    {
        using var folder = new TempFolder();
        var data = folder.Sub("dev");
        string[] args = ["serve", "--dev", "--data", data, .. TestOptions.LoopbackListeners, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile];
        var acknowledged = new List<int>();
        using (var server = ChildProcess.Start("sealpost", args))
        {
            var inbound = await InboundEndpointAsync(server);
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                try
                {
                    await using var smtp = await SmtpRaw.ConnectAsync(inbound);
                    await smtp.ReplyAsync();
                    await smtp.CommandAsync("EHLO load.example");
                    for (var i = 0; !stop.IsCancellationRequested; i++)
                    {
                        var n = (w * 100_000) + i;
                        await smtp.SendAsync($"MAIL FROM:<load@remote.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
                        await smtp.ReplyAsync();
                        await smtp.ReplyAsync();
                        await smtp.ReplyAsync();
                        await smtp.SendAsync($"Subject: durable-{n}\r\n\r\n{new string('b', 3000)}\r\n.\r\n");
                        if ((await smtp.ReplyAsync()).StartsWith("250 ", StringComparison.Ordinal))
                        {
                            lock (acknowledged)
                            {
                                acknowledged.Add(n);
                            }
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or EndOfStreamException or OperationCanceledException or System.Net.Sockets.SocketException)
                {
                    // the server was killed under us
                }
            })).ToList();

            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Count(acknowledged) < 60 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            server.KillHard(); // SIGKILL in the middle of the stream
            stop.Cancel();
            await Task.WhenAll(senders);
        }

        Assert.True(Count(acknowledged) >= 60, "the server acknowledged too few messages before the kill");

        // It starts again on the same data folder...
        using (var again = ChildProcess.Start("sealpost", args))
        {
            await InboundEndpointAsync(again);
            again.Terminate();
            await again.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        // ...and every acknowledged message is there exactly once, whole.
        var options = TestOptions.For(data);
        options.Vault.MasterKeyFile = Path.Combine(data, DataFolder.DevMasterKeyName);
        await using var runtime = await SealpostRuntime.OpenAsync(options, NullLoggerFactory.Instance);
        var (bob, session) = (await runtime.Directory.LoginAsync("bob@example.test", "bob-dev-password"))!.Value;
        using (session)
        {
            var inbox = (await runtime.Store.Mail.FindMailboxByRoleAsync(bob.Id, MailboxRole.Inbox))!;
            var subjects = new List<int>();
            foreach (var message in await runtime.Store.Mail.ListMessagesAsync(inbox.Id, UidRange.All))
            {
                using var opened = await runtime.Reader.OpenAsync(session, message);
                var text = Encoding.UTF8.GetString(await opened.ReadAllAsync());
                Assert.EndsWith(new string('b', 3000) + "\r\n", text); // complete, not cut
                var start = text.IndexOf("Subject: durable-", StringComparison.Ordinal) + "Subject: durable-".Length;
                subjects.Add(int.Parse(text[start..text.IndexOf('\r', start)], CultureInfo.InvariantCulture));
            }

            Assert.Equal(subjects.Count, subjects.Distinct().Count());
            Assert.All(acknowledged, n => Assert.Contains(n, subjects));
        }
    }

    private static int Count(List<int> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static async Task<IPEndPoint> InboundEndpointAsync(ChildProcess server)
    {
        var line = await server.WaitForLineAsync(l => l.TrimStart().StartsWith("SMTP in", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        return IPEndPoint.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
    }
}
