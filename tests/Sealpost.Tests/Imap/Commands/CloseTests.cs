using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>CLOSE (RFC 9051 §6.4.1: silent expunge unless read-only) and UNSELECT (RFC 3691: no expunge).</summary>
public sealed class CloseTests : ImapTestBase
{
    [Fact]
    public async Task Close_expunges_silently_unselect_does_not()
    {
        await DeliverAsync(Message("a"), flags: MessageFlags.Deleted);
        await DeliverAsync(Message("b"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal("b OK UNSELECT completed\r\n", await raw.CommandAsync("b UNSELECT"));
        Assert.Contains("(MESSAGES 2)", await raw.CommandAsync("c STATUS INBOX (MESSAGES)"));
        await raw.CommandAsync("d EXAMINE INBOX");
        Assert.Equal("e OK CLOSE completed\r\n", await raw.CommandAsync("e CLOSE"));
        Assert.Contains("(MESSAGES 2)", await raw.CommandAsync("f STATUS INBOX (MESSAGES)")); // read-only: nothing expunged
        await raw.CommandAsync("g SELECT INBOX");
        Assert.Equal("h OK CLOSE completed\r\n", await raw.CommandAsync("h CLOSE"));
        Assert.Contains("(MESSAGES 1)", await raw.CommandAsync("i STATUS INBOX (MESSAGES)"));
        Assert.Equal("j BAD No mailbox selected\r\n", await raw.CommandAsync("j CLOSE"));
    }
}
