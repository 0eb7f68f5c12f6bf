using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>RENAME (RFC 9051 §6.3.6): hierarchy moves along; INBOX's messages move and INBOX stays.</summary>
public sealed class RenameTests : ImapTestBase
{
    [Fact]
    public async Task Rename_moves_children_and_refuses_cycles()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Projects/2026/Q1/");
        Assert.Equal("b OK RENAME completed\r\n", await raw.CommandAsync("b RENAME Projects Old/Projects"));
        Assert.Equal(
            "* LIST (\\HasChildren) \"/\" Old\r\n* LIST (\\HasChildren) \"/\" Old/Projects\r\n* LIST (\\HasChildren) \"/\" Old/Projects/2026\r\n* LIST (\\HasNoChildren) \"/\" Old/Projects/2026/Q1\r\nc OK LIST completed\r\n",
            await raw.CommandAsync("c LIST \"\" Old*"));
        Assert.Equal("d NO [CANNOT] a mailbox cannot be moved below itself\r\n", await raw.CommandAsync("d RENAME Old Old/Projects/X"));
        Assert.Equal("e NO [ALREADYEXISTS] a mailbox with the new name exists\r\n", await raw.CommandAsync("e RENAME Old/Projects Old"));
        Assert.Equal("f NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("f RENAME Nowhere Somewhere"));
        Assert.Equal("g NO [ALREADYEXISTS] INBOX exists\r\n", await raw.CommandAsync("g RENAME Old inbox"));
    }

    [Fact]
    public async Task Renaming_inbox_moves_its_messages()
    {
        await DeliverAsync(Message("moved by rename"));
        await using var raw = await LoginAsync();
        Assert.Equal("a OK RENAME completed\r\n", await raw.CommandAsync("a RENAME INBOX Old-Inbox"));
        Assert.Contains("(MESSAGES 0)", await raw.CommandAsync("b STATUS INBOX (MESSAGES)"));
        Assert.Contains("(MESSAGES 1)", await raw.CommandAsync("c STATUS Old-Inbox (MESSAGES)"));
    }
}
