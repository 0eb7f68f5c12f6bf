using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>LIST with LIST-EXTENDED and LIST-STATUS (RFC 9051 §6.3.9, RFC 5258, RFC 5819), international names.</summary>
public sealed class ListTests : ImapTestBase
{
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
    public async Task International_names_in_modified_utf7_and_utf8()
    {
        await using var raw = await LoginAsync();
        Assert.Matches(@"^a OK \[MAILBOXID \(F[0-9a-f]+\)\] CREATE completed\r\n$", await raw.CommandAsync("a CREATE Entw&APw-rfe"));
        Assert.Equal("b NO [CANNOT] Mailbox name is not valid modified UTF-7\r\n", await raw.CommandAsync("b CREATE &AGE-"));
        Assert.Equal("* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\r\nc OK LIST completed\r\n", await raw.CommandAsync("c LIST \"\" Entw*"));
        await raw.CommandAsync("d ENABLE UTF8=ACCEPT");
        Assert.Equal("* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\r\ne OK LIST completed\r\n", await raw.CommandAsync("e LIST \"\" Entw*"));
        Assert.Matches(@"^f OK \[MAILBOXID \(F[0-9a-f]+\)\] CREATE completed\r\n$", await raw.CommandAsync("f CREATE \"日本語\""));
        Assert.Contains("* STATUS \"日本語\" (MESSAGES 0)", await raw.CommandAsync("g STATUS \"日本語\" (MESSAGES)"));
    }

    /// <summary>RFC 5258 §3.5: CHILDINFO only for a descendant no pattern lists itself.</summary>
    [Theory]
    [InlineData("(\"Work\" \"Work/Clients\")", false)]
    [InlineData("(\"Work\")", true)]
    [InlineData("\"%\"", true)]
    public async Task Recursivematch_childinfo_only_for_children_no_pattern_lists(string patterns, bool childInfo)
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Work/Clients");
        await raw.CommandAsync("b SUBSCRIBE Work/Clients");

        var lines = Lines(await raw.CommandAsync($"c LIST (SUBSCRIBED RECURSIVEMATCH) \"\" {patterns}"));

        Assert.Equal(childInfo, lines.Any(l => l.EndsWith("\"/\" Work (\"CHILDINFO\" (\"SUBSCRIBED\"))", StringComparison.Ordinal)));
        Assert.Equal(childInfo, lines.Any(l => l.Contains("\"/\" Work ", StringComparison.Ordinal) || l.EndsWith("\"/\" Work", StringComparison.Ordinal)));
    }
}
