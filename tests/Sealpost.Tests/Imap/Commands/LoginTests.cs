using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>LOGIN (RFC 9051 §6.2.3) with quoted and literal arguments; failures throttled.</summary>
public sealed class LoginTests : ImapTestBase
{
    [Fact]
    public async Task Login_with_quoted_and_literal_arguments()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        Assert.StartsWith("a NO [AUTHENTICATIONFAILED]", await raw.CommandAsync($"a LOGIN \"{Alice}\" \"wrong\""));
        await raw.SendAsync($"b LOGIN {{{Alice.Length}}}\r\n");
        Assert.Equal("+ Ready for literal data", await raw.LineAsync());
        await raw.SendAsync($"{Alice} {{{AlicePassword.Length}+}}\r\n{AlicePassword}\r\n");
        Assert.StartsWith("b OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+", await raw.UntilTaggedAsync("b"));
        Assert.Equal("c BAD Already authenticated\r\n", await raw.CommandAsync($"c LOGIN {Alice} {AlicePassword}"));
    }

    [Fact]
    public async Task Repeated_failures_end_the_session_and_are_throttled()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        for (var i = 0; i < 2; i++)
        {
            Assert.StartsWith($"a{i} NO [AUTHENTICATIONFAILED]", await raw.CommandAsync($"a{i} LOGIN {Alice} wrong-{i}"));
        }

        var last = await raw.CommandAsync($"z LOGIN {Alice} wrong-again");
        Assert.Contains("* BYE Too many authentication failures", await raw.LineAsync().ContinueWith(t => last + t.Result));
        Assert.True(await raw.ClosedAsync());
        Assert.Contains("IMAP login by a:", Server.Logs.ToString());
        Assert.DoesNotContain("wrong-again", Server.Logs.ToString());
        Assert.DoesNotContain(Alice, Server.Logs.ToString());
    }
}
