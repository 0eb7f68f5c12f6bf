using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>DELETE (RFC 9051 §6.3.5): INBOX stays, children first, the selected mailbox is left.</summary>
public sealed class DeleteTests : ImapTestBase
{
    [Fact]
    public async Task Delete_rules()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Projects/2026/Q1");
        Assert.Equal("b NO [HASCHILDREN] The mailbox has children; delete them first\r\n", await raw.CommandAsync("b DELETE Projects/2026"));
        Assert.Equal("c NO [CANNOT] INBOX cannot be deleted\r\n", await raw.CommandAsync("c DELETE INBOX"));
        Assert.Equal("d OK DELETE completed\r\n", await raw.CommandAsync("d DELETE Projects/2026/Q1"));
        Assert.Equal("e NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("e DELETE Projects/2026/Q1"));
        await raw.CommandAsync("f SELECT Projects/2026");
        Assert.Equal("g OK DELETE completed\r\n", await raw.CommandAsync("g DELETE Projects/2026"));
        Assert.Equal("h BAD No mailbox selected\r\n", await raw.CommandAsync("h FETCH 1 FLAGS"));
    }
}
