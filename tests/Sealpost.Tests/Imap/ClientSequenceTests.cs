using System.Text.RegularExpressions;
using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// The command sequences real clients send, replayed as transcripts: what Thunderbird does on start,
/// on new mail and on delete; what iOS Mail does to resynchronise with QRESYNC.
/// </summary>
public sealed class ClientSequenceTests : ImapTestBase
{
    private static string Field(string text, string pattern) => Regex.Match(text, pattern).Groups[1].Value;

    [Fact]
    public async Task Thunderbird_like_session()
    {
        for (var i = 1; i <= 3; i++)
        {
            await DeliverAsync(Message("tb " + i, "body " + i, extraHeaders: "X-Priority: 3\r\n"));
        }

        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        Assert.Contains("AUTH=PLAIN", await raw.CommandAsync("1 capability"));
        var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{Alice}\0{AlicePassword}"));
        Assert.StartsWith("2 OK [CAPABILITY", await raw.CommandAsync("2 authenticate PLAIN " + plain));
        Assert.Contains("3 OK", await raw.CommandAsync("3 ID (\"name\" \"Thunderbird\" \"version\" \"128.5.0\")"));
        var list = await raw.CommandAsync("4 list (SUBSCRIBED) \"\" \"*\" return (SPECIAL-USE)");
        Assert.EndsWith("4 OK LIST completed\r\n", list);
        var lsub = await raw.CommandAsync("5 list \"\" \"*\" return (SPECIAL-USE SUBSCRIBED)");
        Assert.Contains("\\Sent", lsub);
        Assert.Contains("\\Trash", lsub);
        var select = await raw.CommandAsync("6 select \"INBOX\" (CONDSTORE)");
        Assert.Contains("* 3 EXISTS", select);
        var modseq = long.Parse(Field(select, @"HIGHESTMODSEQ (\d+)"));
        var flags = Lines(await raw.CommandAsync("7 UID fetch 1:* (FLAGS)"));
        Assert.Equal(3, flags.Count(l => Regex.IsMatch(l, @"^\* \d FETCH \(UID \d FLAGS \(\\Recent\) MODSEQ \(\d+\)\)$"))); // this session saw them first
        var headers = await raw.CommandAsync("8 UID fetch 1:3 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])");
        Assert.Contains("Subject: tb 2", headers);
        Assert.Contains("X-Priority: 3", headers);
        Assert.DoesNotContain("MIME-Version", headers);

        // Idle; new mail arrives; fetch what changed since the modseq it knows.
        await raw.SendAsync("9 IDLE\r\n");
        Assert.Equal("+ idling", await raw.LineAsync());
        await DeliverAsync(Message("tb 4"));
        Assert.Equal("* 4 EXISTS", await raw.LineAsync());
        Assert.Equal("* 4 RECENT", await raw.LineAsync());
        await raw.SendAsync("DONE\r\n");
        Assert.Equal("9 OK IDLE terminated\r\n", await raw.UntilTaggedAsync("9"));
        var changed = Lines(await raw.CommandAsync($"10 UID fetch 1:* (FLAGS) (CHANGEDSINCE {modseq})"));
        Assert.Matches(@"^\* 4 FETCH \(UID 4 FLAGS \(\\Recent\) MODSEQ \(\d+\)\)$", changed[0]);

        // Read a message, then delete it the way Thunderbird does: copy to Trash, mark deleted, expunge by UID.
        Assert.Matches(@"^\* 2 FETCH \(UID 2 RFC822.SIZE \d+ BODY\[\] \{\d+\}", await raw.CommandAsync("11 UID fetch 2 (UID RFC822.SIZE BODY.PEEK[])"));
        Assert.Matches(@"\* 2 FETCH \(UID 2 FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)", await raw.CommandAsync("12 UID store 2 +FLAGS (\\Seen)"));
        Assert.Matches(@"^12 OK|13 OK \[COPYUID \d+ 2 1\] COPY completed", await raw.CommandAsync("13 UID copy 2 \"Trash\""));
        await raw.CommandAsync("14 UID store 2 +FLAGS.SILENT (\\Deleted)");
        Assert.Equal("* 2 EXPUNGE\r\n15 OK EXPUNGE completed\r\n", await raw.CommandAsync("15 UID expunge 2"));
        Assert.Contains("* STATUS Trash (MESSAGES 1 UNSEEN 0)", await raw.CommandAsync("16 STATUS \"Trash\" (MESSAGES UNSEEN)"));
        Assert.Contains("17 OK LOGOUT completed", await raw.CommandAsync("17 logout"));
    }

    [Fact]
    public async Task Ios_mail_like_resync_with_qresync()
    {
        for (var i = 1; i <= 6; i++)
        {
            await DeliverAsync(Message("ios " + i));
        }

        uint validity;
        long modseq;
        await using (var first = await LoginAsync())
        {
            await first.CommandAsync("1 ENABLE QRESYNC");
            var select = await first.CommandAsync("2 SELECT INBOX");
            validity = uint.Parse(Field(select, @"UIDVALIDITY (\d+)"));
            modseq = long.Parse(Field(select, @"HIGHESTMODSEQ (\d+)"));
        }

        // While the phone sleeps: another client reads 1, flags 4, deletes 2 and 5; new mail arrives.
        await using (var desk = await LoginAsync())
        {
            await desk.CommandAsync("d1 SELECT INBOX");
            await desk.CommandAsync("d2 STORE 1 +FLAGS.SILENT (\\Seen)");
            await desk.CommandAsync("d3 STORE 4 +FLAGS.SILENT (\\Flagged)");
            await desk.CommandAsync("d4 STORE 2,5 +FLAGS.SILENT (\\Deleted)");
            await desk.CommandAsync("d5 EXPUNGE");
        }

        await DeliverAsync(Message("ios 7"));

        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        await raw.CommandAsync("1 CAPABILITY");
        await raw.CommandAsync("2 ID (\"name\" \"iPhone Mail\" \"version\" \"22B91\" \"os\" \"iOS\")");
        await raw.CommandAsync($"3 LOGIN \"{Alice}\" \"{AlicePassword}\"");
        Assert.Equal("* ENABLED QRESYNC\r\n4 OK ENABLE completed\r\n", await raw.CommandAsync("4 ENABLE QRESYNC"));
        Assert.Equal("* LIST (\\Noselect) \"/\" \"\"\r\n5 OK LIST completed\r\n", await raw.CommandAsync("5 LIST \"\" \"\""));
        Assert.Contains("* LIST (\\HasNoChildren \\Trash) \"/\" Trash", await raw.CommandAsync("6 LIST \"\" \"*\""));
        Assert.Matches(@"\* STATUS INBOX \(MESSAGES 5 UIDNEXT 8 UIDVALIDITY \d+ UNSEEN 4 HIGHESTMODSEQ \d+\)", await raw.CommandAsync("7 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)"));
        var resync = Lines(await raw.CommandAsync($"8 SELECT INBOX (QRESYNC ({validity} {modseq} 1:6))"));
        Assert.Contains("* 5 EXISTS", resync);
        Assert.Contains("* VANISHED (EARLIER) 2,5", resync);
        Assert.Contains(resync, l => Regex.IsMatch(l, @"^\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$"));
        Assert.Contains(resync, l => Regex.IsMatch(l, @"^\* 3 FETCH \(UID 4 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$"));
        Assert.Contains(resync, l => l.Contains("UID 7 "));
        Assert.Equal("* ESEARCH (TAG \"9\") UID ALL 1,3:4,6:7\r\n9 OK SEARCH completed\r\n", await raw.CommandAsync("9 UID SEARCH RETURN (ALL) 1:* NOT DELETED"));
        var bodies = await raw.CommandAsync("10 UID FETCH 7 (UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT)]<0.2048>)");
        Assert.Contains("BODYSTRUCTURE (\"text\" \"plain\"", bodies);
        Assert.Contains("Subject: ios 7", bodies);
        await raw.SendAsync("11 IDLE\r\n");
        Assert.Equal("+ idling", await raw.LineAsync());
        await DeliverAsync(Message("ios 8"));
        Assert.Equal("* 6 EXISTS", await raw.LineAsync());
        Assert.Equal("* 2 RECENT", await raw.LineAsync()); // rev1: RECENT follows EXISTS, and counts "ios 7" (first seen at SELECT) too
        await raw.SendAsync("DONE\r\n");
        Assert.Equal("11 OK IDLE terminated\r\n", await raw.UntilTaggedAsync("11"));
    }
}
