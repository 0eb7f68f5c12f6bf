using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Imap;
using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>QRESYNC (RFC 7162 §3.2): resync in one round trip, VANISHED (EARLIER), VANISHED instead of EXPUNGE, a pruned log.</summary>
public sealed class QresyncTests : ImapTestBase
{
    private async Task<(uint Validity, long ModSeq)> StateAsync(ImapRaw raw, string tag)
    {
        var select = await raw.CommandAsync($"{tag} SELECT INBOX");
        return (uint.Parse(Regex.Match(select, @"UIDVALIDITY (\d+)").Groups[1].Value), long.Parse(Regex.Match(select, @"HIGHESTMODSEQ (\d+)").Groups[1].Value));
    }

    [Fact]
    public async Task A_client_that_missed_expunges_and_flag_changes_catches_up_in_one_select()
    {
        for (var i = 1; i <= 10; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        uint validity;
        long modseq;
        await using (var before = await LoginAsync())
        {
            (validity, modseq) = await StateAsync(before, "a");
        }

        // Meanwhile, on another device: flags on 2 and 7, 3..5 and 9 expunged, one new message.
        await using (var other = await LoginAsync())
        {
            await other.CommandAsync("o1 SELECT INBOX");
            await other.CommandAsync("o2 STORE 2,7 +FLAGS.SILENT (\\Seen)");
            await other.CommandAsync("o3 STORE 3:5,9 +FLAGS.SILENT (\\Deleted)");
            await other.CommandAsync("o4 EXPUNGE");
        }

        await DeliverAsync(Message("m11"));
        await using var raw = await LoginAsync();
        Assert.Equal("b BAD QRESYNC needs ENABLE QRESYNC first\r\n", await raw.CommandAsync($"b SELECT INBOX (QRESYNC ({validity} {modseq}))"));
        Assert.Equal("* ENABLED QRESYNC\r\nc OK ENABLE completed\r\n", await raw.CommandAsync("c ENABLE QRESYNC"));
        var resync = Lines(await raw.CommandAsync($"d SELECT INBOX (QRESYNC ({validity} {modseq} 1:10))"));
        Assert.Contains("* 7 EXISTS", resync);
        Assert.Contains("* VANISHED (EARLIER) 3:5,9", resync);
        // UIDs left: 1 2 6 7 8 10 11, so UID 2 is message 2 and UID 7 message 4.
        Assert.Contains(resync, l => Regex.IsMatch(l, @"^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$"));
        Assert.Contains(resync, l => Regex.IsMatch(l, @"^\* 4 FETCH \(UID 7 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$"));
        Assert.Contains(resync, l => l.Contains("UID 11 "));
        Assert.Equal("d OK [READ-WRITE] SELECT completed", resync[^1]);
        Assert.True(resync.ToList().IndexOf("* VANISHED (EARLIER) 3:5,9") < resync.ToList().FindIndex(l => l.Contains(" FETCH ")));

        // A stale UIDVALIDITY gets a plain SELECT: no resync data.
        var stale = await raw.CommandAsync($"e SELECT INBOX (QRESYNC ({validity + 1} {modseq}))");
        Assert.DoesNotContain("VANISHED", stale);
        Assert.DoesNotContain("FETCH", stale);

        // UID FETCH ... (CHANGEDSINCE m VANISHED) answers the same question for a range.
        var fetch = Lines(await raw.CommandAsync($"f UID FETCH 1:8 (FLAGS) (CHANGEDSINCE {modseq} VANISHED)"));
        Assert.Equal("* VANISHED (EARLIER) 3:5", fetch[0]);
        Assert.Equal(2, fetch.Count(l => l.Contains(" FETCH (UID ")));
        Assert.Equal("g BAD VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC\r\n", await raw.CommandAsync("g FETCH 1:* (FLAGS) (VANISHED)"));

        // With QRESYNC on, expunges are reported as VANISHED.
        await raw.CommandAsync("h STORE 1 +FLAGS.SILENT (\\Deleted)");
        Assert.Equal("* VANISHED 1\r\ni OK EXPUNGE completed\r\n", await raw.CommandAsync("i EXPUNGE")); // message 1 is UID 1
    }

    [Fact]
    public async Task A_modseq_older_than_the_pruned_log_still_gets_a_correct_answer()
    {
        for (var i = 1; i <= 6; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        uint validity;
        long modseq;
        await using (var before = await LoginAsync())
        {
            (validity, modseq) = await StateAsync(before, "a");
            await before.CommandAsync("b STORE 2,4 +FLAGS.SILENT (\\Deleted)");
            await before.CommandAsync("c EXPUNGE");
        }

        await Server.Server.Runtime.Store.Mail.PruneChangesAsync(DateTimeOffset.UtcNow.AddMinutes(1));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("d ENABLE QRESYNC");
        Assert.Contains("* VANISHED (EARLIER) 2,4\r\n", await raw.CommandAsync($"e SELECT INBOX (QRESYNC ({validity} {modseq}))"));
        Assert.Contains("* VANISHED (EARLIER) 4\r\n", await raw.CommandAsync($"f SELECT INBOX (QRESYNC ({validity} {modseq} 3:6))"));
    }

    [Fact]
    public async Task MailKit_resyncs_with_qresync_after_changes_by_another_session()
    {
        for (var i = 1; i <= 5; i++)
        {
            await DeliverAsync(Message("m" + i));
        }

        using var client = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 10_000 };
        await client.ConnectAsync(Tls.Address.ToString(), Tls.Port, MailKit.Security.SecureSocketOptions.SslOnConnect);
        await client.AuthenticateAsync(Alice, AlicePassword);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.QuickResync));
        await client.EnableQuickResyncAsync();
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        var validity = inbox.UidValidity;
        var highest = inbox.HighestModSeq;
        var uids = await inbox.SearchAsync(MailKit.Search.SearchQuery.All);
        await inbox.CloseAsync();

        await using (var other = await LoginAsync())
        {
            await other.CommandAsync("o1 SELECT INBOX");
            await other.CommandAsync("o2 STORE 1 +FLAGS.SILENT (\\Flagged)");
            await other.CommandAsync("o3 STORE 5 +FLAGS.SILENT (\\Deleted)");
            await other.CommandAsync("o4 EXPUNGE");
        }

        var vanished = new List<UniqueId>();
        var flagged = new List<UniqueId?>();
        inbox.MessagesVanished += (_, e) => vanished.AddRange(e.UniqueIds);
        inbox.MessageFlagsChanged += (_, e) => flagged.Add(e.UniqueId);
        await inbox.OpenAsync(FolderAccess.ReadWrite, validity, highest, uids);
        Assert.Equal([new UniqueId(validity, 5)], vanished);
        Assert.Contains(new UniqueId(validity, 1), flagged);
        Assert.Equal(4, inbox.Count);
        Assert.True(inbox.HighestModSeq > highest);
        await client.DisconnectAsync(true);
    }
}
