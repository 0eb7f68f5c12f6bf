using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>CAPABILITY, NOOP, LOGOUT, ID, ENABLE, NAMESPACE, LOGIN, AUTHENTICATE, STARTTLS and bad input, over a real socket.</summary>
public sealed class ImapSessionTests : ImapTestBase
{






    [Fact]
    public async Task Commands_need_the_right_state()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        Assert.Equal("a BAD Log in first\r\n", await raw.CommandAsync("a SELECT INBOX"));
        Assert.Equal("b BAD Unknown command\r\n", await raw.CommandAsync("b FROB"));
        await raw.CommandAsync($"c LOGIN {Alice} {AlicePassword}");
        Assert.Equal("d BAD No mailbox selected\r\n", await raw.CommandAsync("d FETCH 1 FLAGS"));
        Assert.Equal("e BAD UID SELECT is not a command\r\n", await raw.CommandAsync("e UID SELECT INBOX"));
    }


    [Theory]
    [InlineData("a")]                         // no command
    [InlineData("+ NOOP")]                    // bad tag: answered untagged
    [InlineData("a NOOP extra")]              // trailing junk
    [InlineData("a SELECT")]                  // missing argument
    [InlineData("a SELECT \"unterminated")]   // broken quoted string
    [InlineData("a FETCH 0 FLAGS")]           // zero is not a sequence number
    [InlineData("a FETCH 1:* (FLAGS")]        // unbalanced list
    [InlineData("a STORE 1 FLAGS (\\Bogus)")] // unknown system flag
    [InlineData("a SEARCH FROM")]             // key without its argument
    [InlineData("a LIST \"\" \"*\" RETURN (BOGUS)")]
    public async Task Malformed_commands_get_BAD_and_the_session_goes_on(string command)
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("s SELECT INBOX");
        await raw.SendAsync(command + "\r\n");
        Assert.Matches(@"^(a|\*) BAD ", await raw.LineAsync());
        Assert.Equal("z OK NOOP completed\r\n", await raw.CommandAsync("z NOOP"));
    }

    [Fact]
    public async Task Too_many_bad_commands_end_with_BYE()
    {
        await using var raw = await LoginAsync();
        string reply = "";
        for (var i = 0; i < 20; i++)
        {
            await raw.SendAsync($"b{i} FROB\r\n");
        }

        for (var i = 0; i < 19; i++)
        {
            reply = await raw.UntilTaggedAsync($"b{i}");
        }

        Assert.Contains("BAD", reply);
        Assert.Equal("b19 BAD Unknown command", await raw.LineAsync());
        Assert.Equal("* BYE Too many bad commands", await raw.LineAsync());
        Assert.True(await raw.ClosedAsync());
    }

    [Fact]
    public async Task An_overlong_line_ends_the_session_cleanly()
    {
        await using var raw = await LoginAsync();
        // The server answers before the line ends; it reads on a little so the client gets to see why.
        var sending = raw.SendAsync("a NOOP " + new string('x', 10 * 1024 * 1024) + "\r\n").ContinueWith(_ => { });
        Assert.Equal("* BYE Line too long", await raw.LineAsync());
        await sending;
        Assert.True(await raw.ClosedAsync());
    }

    [Fact]
    public async Task An_oversized_literal_is_refused_before_it_is_sent()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a NO [TOOBIG] Literal larger than 52428800 octets\r\n", await raw.CommandAsync("a APPEND INBOX {999999999}"));
        Assert.Equal("b OK NOOP completed\r\n", await raw.CommandAsync("b NOOP"));
        await raw.SendAsync("c APPEND INBOX {999999999+}\r\n");
        Assert.Equal("* BYE [TOOBIG] Literal larger than 52428800 octets", await raw.LineAsync());
    }

}

/// <summary>IMAP behind a load balancer: the PROXY v2 header gives the client's address, and a proxied loopback connection gets no loopback privileges.</summary>
public sealed class ImapProxyProtocolTests : ImapTestBase
{
    protected override void Configure(Sealpost.Core.Configuration.SealpostOptions options) => options.Imap.ProxyProtocol = true;

    [Fact]
    public async Task The_header_names_the_client_and_a_missing_header_drops_the_connection()
    {
        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.SendAsync(Sealpost.Tests.Smtp.ProxyProtocolTests.V4Header("203.0.113.9", 40000));
            var greeting = await raw.GreetingAsync();
            // Loopback in truth, but the load balancer says 203.0.113.9: no plaintext login.
            Assert.Contains("LOGINDISABLED", greeting);
            Assert.StartsWith("a NO [PRIVACYREQUIRED]", await raw.CommandAsync($"a LOGIN {Alice} {AlicePassword}"));
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.SendAsync("a CAPABILITY\r\n");
            Assert.True(await raw.ClosedAsync());
        }

        Assert.Contains("PROXY header", Server.Logs.ToString());
    }
}

/// <summary>Login lockouts are counted in the store: shared by IMAP and SMTP (and every node), listed and lifted by admins with the CLI.</summary>
public sealed class LoginLockoutTests : ImapTestBase
{
    protected override void Configure(Sealpost.Core.Configuration.SealpostOptions options)
    {
        options.Limits.MaxAuthFailuresPerAccount = 2;
        options.Smtp.AllowPlaintextAuthOnLoopback = true;
    }

    [Fact]
    public async Task A_locked_account_is_refused_everywhere_listed_for_admins_and_can_be_unlocked()
    {
        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            Assert.StartsWith("a NO [AUTHENTICATIONFAILED]", await raw.CommandAsync($"a LOGIN {Alice} wrong-1"));
            Assert.StartsWith("b NO [AUTHENTICATIONFAILED]", await raw.CommandAsync($"b LOGIN {Alice} wrong-2"));
            // Now even the right password is refused, unchecked.
            Assert.Equal("c NO [UNAVAILABLE] Too many failed logins; try again later\r\n", await raw.CommandAsync($"c LOGIN {Alice} {AlicePassword}"));
        }

        // SMTP submission reads the same count.
        await using (var smtp = await SmtpRaw.ConnectAsync(Server.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.Submission)))
        {
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO client.example.org");
            var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{Alice}\0{AlicePassword}"));
            Assert.StartsWith("454 4.7.0", await smtp.CommandAsync("AUTH PLAIN " + plain));
        }

        var cli = new CliRunner(Server.Server.Runtime.Options.DataDirectory);
        // The CLI reads the same configuration as the server (here: the lowered limit).
        var list = await cli.OkAsync("user", "lockouts", "--set", "Limits:MaxAuthFailuresPerAccount=2");
        Assert.Contains("account", list.Out);
        Assert.Contains(Alice, list.Out);
        Assert.Contains("Unlocked alice@example.test.", (await cli.OkAsync("user", "unlock", Alice)).Out);
        Assert.Contains("No lockouts.", (await cli.OkAsync("user", "lockouts", "--set", "Limits:MaxAuthFailuresPerAccount=2")).Out);
        (await cli.RunAsync("user", "unlock", "nobody@example.test")).AssertCleanError(1, "no account 'nobody@example.test'");

        await using var again = await LoginAsync();
        Assert.Equal("z OK NOOP completed\r\n", await again.CommandAsync("z NOOP"));
    }
}
