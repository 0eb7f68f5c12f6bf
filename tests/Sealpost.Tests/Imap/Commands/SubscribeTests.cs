using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7-8).</summary>
public sealed class SubscribeTests : ImapTestBase
{
    [Fact]
    public async Task Subscribe_and_unsubscribe()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Work");
        Assert.Equal("b OK SUBSCRIBE completed\r\n", await raw.CommandAsync("b SUBSCRIBE Work"));
        Assert.Equal("* LIST (\\HasNoChildren \\Subscribed) \"/\" Work\r\nc OK LIST completed\r\n", await raw.CommandAsync("c LIST (SUBSCRIBED) \"\" *"));
        Assert.Equal("d OK UNSUBSCRIBE completed\r\n", await raw.CommandAsync("d UNSUBSCRIBE Work"));
        Assert.Equal("e OK LIST completed\r\n", await raw.CommandAsync("e LIST (SUBSCRIBED) \"\" *"));
        Assert.Equal("f NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("f SUBSCRIBE Nowhere"));
    }
}
