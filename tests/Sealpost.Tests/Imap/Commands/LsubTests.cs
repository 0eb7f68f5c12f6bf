using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>LSUB (RFC 3501 §6.3.9) for IMAP4rev1 clients.</summary>
public sealed class LsubTests : ImapTestBase
{
    [Fact]
    public async Task Lsub_lists_subscribed_mailboxes_matching_the_pattern()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Work/Clients");
        await raw.CommandAsync("b SUBSCRIBE Work/Clients");
        await raw.CommandAsync("c SUBSCRIBE INBOX");
        Assert.Equal("* LSUB () \"/\" INBOX\r\n* LSUB () \"/\" Work/Clients\r\nd OK LSUB completed\r\n", await raw.CommandAsync("d LSUB \"\" *"));
        // RFC 3501 §6.3.9: "%" stops at Work, which is not subscribed but has a subscribed child.
        Assert.Equal("* LSUB () \"/\" INBOX\r\n* LSUB (\\Noselect) \"/\" Work\r\ne OK LSUB completed\r\n", await raw.CommandAsync("e LSUB \"\" %"));
        Assert.Equal("* LSUB () \"/\" Work/Clients\r\nf OK LSUB completed\r\n", await raw.CommandAsync("f LSUB Work/ *"));
    }

    [Fact]
    public async Task A_subscribed_parent_is_listed_plainly_not_as_noselect()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Work/Clients");
        await raw.CommandAsync("b SUBSCRIBE Work/Clients");
        await raw.CommandAsync("c SUBSCRIBE Work");
        Assert.Equal("* LSUB () \"/\" Work\r\nd OK LSUB completed\r\n", await raw.CommandAsync("d LSUB \"\" W%"));
    }
}
