using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>CREATE (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE (RFC 6154).</summary>
public sealed class CreateTests : ImapTestBase
{
    [Fact]
    public async Task Create_special_use()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a NO [USEATTR] Another mailbox has that special use\r\n", await raw.CommandAsync("a CREATE MySent (USE (\\Sent))"));
        Assert.Equal("b NO [USEATTR] Unknown special use\r\n", await raw.CommandAsync("b CREATE Odd (USE (\\Bogus))"));
        Assert.Equal("c OK DELETE completed\r\n", await raw.CommandAsync("c DELETE Archive"));
        Assert.Matches(@"^d OK \[MAILBOXID \(F[0-9a-f]+\)\] CREATE completed\r\n$", await raw.CommandAsync("d CREATE Old-Mail (USE (\\Archive))"));
        Assert.Equal("* LIST (\\HasNoChildren \\Archive) \"/\" Old-Mail\r\ne OK LIST completed\r\n", await raw.CommandAsync("e LIST (SPECIAL-USE) \"\" Old*"));
    }
}
