using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>LOGOUT (RFC 9051 §6.1.3): BYE, tagged OK, then the server closes.</summary>
public sealed class LogoutTests : ImapTestBase
{
    [Fact]
    public async Task Logout_says_bye_and_closes_in_any_state()
    {
        await using (var raw = await LoginAsync())
        {
            await raw.CommandAsync("a SELECT INBOX");
            Assert.Equal("* BYE Sealpost logging out\r\nb OK LOGOUT completed\r\n", await raw.CommandAsync("b LOGOUT"));
            Assert.True(await raw.ClosedAsync());
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            Assert.Equal("* BYE Sealpost logging out\r\nc OK LOGOUT completed\r\n", await raw.CommandAsync("c LOGOUT"));
            Assert.True(await raw.ClosedAsync());
        }

        Assert.Contains("IMAP logout of account", Server.Logs.ToString());
    }
}
