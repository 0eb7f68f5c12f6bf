using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, LIST (extended, STATUS), LSUB, STATUS, GETQUOTAROOT.</summary>
public sealed class ImapMailboxTests : ImapTestBase
{
    [Fact]
    public async Task Select_reports_the_mailbox_state_rev1_and_rev2()
    {
        await DeliverAsync(Message("one"), flags: Sealpost.Core.Mail.MessageFlags.Seen);
        await DeliverAsync(Message("two"));
        await using var raw = await LoginAsync();
        var rev1 = Lines(await raw.CommandAsync("a SELECT inbox"));
        Assert.Equal("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", rev1[0]);
        Assert.Equal("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted", rev1[1]);
        Assert.Equal("* 2 EXISTS", rev1[2]);
        Assert.Equal("* 0 RECENT", rev1[3]);
        Assert.Equal("* OK [UNSEEN 2] First unseen message", rev1[4]);
        Assert.Matches(@"^\* OK \[UIDVALIDITY \d+\] UIDs valid$", rev1[5]);
        Assert.Equal("* OK [UIDNEXT 3] Predicted next UID", rev1[6]);
        Assert.Matches(@"^\* OK \[HIGHESTMODSEQ \d+\] Highest$", rev1[7]);
        Assert.Equal("a OK [READ-WRITE] SELECT completed", rev1[^1]);

        await raw.CommandAsync("b ENABLE IMAP4rev2");
        var rev2 = Lines(await raw.CommandAsync("c EXAMINE Inbox"));
        Assert.Equal("* OK [CLOSED] Previous mailbox closed", rev2[0]);
        Assert.DoesNotContain(rev2, l => l.Contains("RECENT") || l.Contains("[UNSEEN"));
        Assert.Contains("* OK [PERMANENTFLAGS ()] Read-only mailbox", rev2);
        Assert.Contains("* LIST () \"/\" INBOX", rev2); // the canonical name of "Inbox"
        Assert.Equal("c OK [READ-ONLY] EXAMINE completed", rev2[^1]);
        Assert.Equal("d NO [READ-ONLY] Mailbox is read-only\r\n", await raw.CommandAsync("d STORE 1 +FLAGS (\\Seen)"));
        Assert.Equal("* OK [CLOSED] Previous mailbox closed\r\ne NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("e SELECT Nowhere"));
        Assert.Equal("f BAD No mailbox selected\r\n", await raw.CommandAsync("f FETCH 1 FLAGS")); // a failed SELECT deselects
    }

    [Fact]
    public async Task Create_delete_rename_with_hierarchy_and_inbox_rules()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK CREATE completed\r\n", await raw.CommandAsync("a CREATE Projects/2026/Q1/"));
        Assert.Equal("b NO [ALREADYEXISTS] mailbox already exists\r\n", await raw.CommandAsync("b CREATE Projects/2026"));
        Assert.Equal("c NO [ALREADYEXISTS] INBOX always exists\r\n", await raw.CommandAsync("c CREATE inbox"));
        Assert.Equal("d NO [HASCHILDREN] The mailbox has children; delete them first\r\n", await raw.CommandAsync("d DELETE Projects/2026"));
        Assert.Equal("e OK RENAME completed\r\n", await raw.CommandAsync("e RENAME Projects Archive2"));
        var list = await raw.CommandAsync("f LIST \"\" \"Archive2*\"");
        Assert.Equal("* LIST (\\HasChildren) \"/\" Archive2\r\n* LIST (\\HasChildren) \"/\" Archive2/2026\r\n* LIST (\\HasNoChildren) \"/\" Archive2/2026/Q1\r\nf OK LIST completed\r\n", list);
        Assert.Equal("g NO [CANNOT] a mailbox cannot be moved below itself\r\n", await raw.CommandAsync("g RENAME Archive2 Archive2/2026/Q1/X"));
        Assert.Equal("h NO [CANNOT] INBOX cannot be deleted\r\n", await raw.CommandAsync("h DELETE INBOX"));
        Assert.Equal("i OK DELETE completed\r\n", await raw.CommandAsync("i DELETE Archive2/2026/Q1"));
        Assert.Equal("j NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("j DELETE Archive2/2026/Q1"));

        // RENAME INBOX moves its messages and leaves INBOX in place, empty.
        await DeliverAsync(Message("moved by rename"));
        Assert.Equal("k OK RENAME completed\r\n", await raw.CommandAsync("k RENAME INBOX Old-Inbox"));
        Assert.Contains("(MESSAGES 0)", await raw.CommandAsync("l STATUS INBOX (MESSAGES)"));
        Assert.Contains("(MESSAGES 1)", await raw.CommandAsync("m STATUS Old-Inbox (MESSAGES)"));
    }

    [Fact]
    public async Task International_names_in_modified_utf7_and_utf8()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK CREATE completed\r\n", await raw.CommandAsync("a CREATE Entw&APw-rfe"));
        Assert.Equal("b BAD Mailbox name is not valid modified UTF-7\r\n", await raw.CommandAsync("b CREATE &AGE-"));
        Assert.Equal("* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\r\nc OK LIST completed\r\n", await raw.CommandAsync("c LIST \"\" Entw*"));
        await raw.CommandAsync("d ENABLE UTF8=ACCEPT");
        Assert.Equal("* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\r\ne OK LIST completed\r\n", await raw.CommandAsync("e LIST \"\" Entw*"));
        Assert.Equal("f OK CREATE completed\r\n", await raw.CommandAsync("f CREATE \"日本語\""));
        Assert.Contains("* STATUS \"日本語\" (MESSAGES 0)", await raw.CommandAsync("g STATUS \"日本語\" (MESSAGES)"));
    }

    [Fact]
    public async Task List_patterns_special_use_and_extended_options()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Work/Clients");
        await raw.CommandAsync("b SUBSCRIBE Work/Clients");
        await raw.CommandAsync("c SUBSCRIBE INBOX");
        Assert.Equal("* LIST (\\Noselect) \"/\" \"\"\r\nd OK LIST completed\r\n", await raw.CommandAsync("d LIST \"\" \"\""));
        Assert.Equal(
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n* LIST (\\HasNoChildren) \"/\" INBOX\r\n" +
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk\r\n* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n" +
            "* LIST (\\HasChildren) \"/\" Work\r\ne OK LIST completed\r\n",
            await raw.CommandAsync("e LIST \"\" %"));
        Assert.Equal("* LIST (\\HasNoChildren) \"/\" Work/Clients\r\nf OK LIST completed\r\n", await raw.CommandAsync("f LIST Work/ %"));
        Assert.Equal(
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX\r\n* LIST (\\HasNoChildren \\Subscribed) \"/\" Work/Clients\r\ng OK LIST completed\r\n",
            await raw.CommandAsync("g LIST (SUBSCRIBED) \"\" *"));
        Assert.Equal(
            "* LIST (\\HasChildren) \"/\" Work (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\nh OK LIST completed\r\n",
            await raw.CommandAsync("h LIST (SUBSCRIBED RECURSIVEMATCH) \"\" Work"));
        Assert.Equal("i BAD RECURSIVEMATCH needs another selection option\r\n", await raw.CommandAsync("i LIST (RECURSIVEMATCH) \"\" *"));
        Assert.Equal(
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\nj OK LIST completed\r\n",
            await raw.CommandAsync("j LIST (SPECIAL-USE) \"\" S*"));
        Assert.Equal(
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n* STATUS INBOX (MESSAGES 0 UNSEEN 0)\r\nk OK LIST completed\r\n",
            await raw.CommandAsync("k LIST \"\" (inbox) RETURN (STATUS (MESSAGES UNSEEN))"));
        Assert.Equal("* LSUB () \"/\" INBOX\r\n* LSUB () \"/\" Work/Clients\r\nl OK LSUB completed\r\n", await raw.CommandAsync("l LSUB \"\" *"));
        Assert.Equal("m OK UNSUBSCRIBE completed\r\n", await raw.CommandAsync("m UNSUBSCRIBE Work/Clients"));
        Assert.Equal("* LSUB () \"/\" INBOX\r\nn OK LSUB completed\r\n", await raw.CommandAsync("n LSUB \"\" *"));
    }

    [Fact]
    public async Task Create_special_use()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a NO [USEATTR] Another mailbox has that special use\r\n", await raw.CommandAsync("a CREATE MySent (USE (\\Sent))"));
        Assert.Equal("b NO [USEATTR] Unknown special use\r\n", await raw.CommandAsync("b CREATE Odd (USE (\\Bogus))"));
        Assert.Equal("c OK DELETE completed\r\n", await raw.CommandAsync("c DELETE Archive"));
        Assert.Equal("d OK CREATE completed\r\n", await raw.CommandAsync("d CREATE Old-Mail (USE (\\Archive))"));
        Assert.Equal("* LIST (\\HasNoChildren \\Archive) \"/\" Old-Mail\r\ne OK LIST completed\r\n", await raw.CommandAsync("e LIST (SPECIAL-USE) \"\" Old*"));
    }

    [Fact]
    public async Task Status_and_quota()
    {
        await DeliverAsync(Message("a"), flags: Sealpost.Core.Mail.MessageFlags.Seen | Sealpost.Core.Mail.MessageFlags.Deleted);
        await DeliverAsync(Message("b"));
        await using var raw = await LoginAsync();
        var status = await raw.CommandAsync("a STATUS INBOX (MESSAGES UIDNEXT UNSEEN DELETED SIZE APPENDLIMIT)");
        Assert.Matches(@"^\* STATUS INBOX \(MESSAGES 2 UIDNEXT 3 UNSEEN 1 DELETED 1 SIZE \d+ APPENDLIMIT 52428800\)\r\na OK STATUS completed\r\n$", status);
        Assert.Equal("b BAD Unknown STATUS item BOGUS\r\n", await raw.CommandAsync("b STATUS INBOX (BOGUS)"));
        Assert.Equal("c NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("c STATUS Nowhere (MESSAGES)"));
        Assert.Matches(@"^\* QUOTAROOT INBOX """"\r\n\* QUOTA """" \(STORAGE 1 10485760\)\r\nd OK GETQUOTAROOT completed\r\n$", await raw.CommandAsync("d GETQUOTAROOT INBOX"));
        Assert.Matches(@"^\* QUOTA """" \(STORAGE 1 10485760\)\r\ne OK GETQUOTA completed\r\n$", await raw.CommandAsync("e GETQUOTA \"\""));
        Assert.Equal("f NO [NOPERM] Quotas are set by administrators\r\n", await raw.CommandAsync("f SETQUOTA \"\" (STORAGE 1)"));
    }
}
