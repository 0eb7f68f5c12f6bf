using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>CAPABILITY, NOOP, LOGOUT, ID, ENABLE, NAMESPACE, LOGIN, AUTHENTICATE, STARTTLS and bad input, over a real socket.</summary>
public sealed class ImapSessionTests : ImapTestBase
{
    [Fact]
    public async Task Greeting_and_capability_before_login()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        var greeting = await raw.GreetingAsync();
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS AUTH=PLAIN", greeting);
        var reply = await raw.CommandAsync("a CAPABILITY");
        Assert.Contains("* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS", reply);
        Assert.Contains(" IDLE ", reply);
        Assert.Contains("a OK CAPABILITY completed", reply);
        Assert.Equal("b OK NOOP completed\r\n", await raw.CommandAsync("b NOOP"));
        Assert.Equal("* BYE Sealpost logging out\r\nc OK LOGOUT completed\r\n", await raw.CommandAsync("c LOGOUT"));
        Assert.True(await raw.ClosedAsync());
    }

    [Fact]
    public async Task Without_tls_a_non_loopback_login_is_disabled()
    {
        await using var server = await TestServer.StartAsync(); // no loopback exemption
        await using var raw = await ImapRaw.ConnectAsync(server.Server.ImapEndpoint(Sealpost.Imap.ImapListenerKind.StartTls));
        Assert.Contains("LOGINDISABLED", await raw.GreetingAsync());
        Assert.StartsWith("a NO [PRIVACYREQUIRED]", await raw.CommandAsync($"a LOGIN {Alice} {AlicePassword}"));
        Assert.StartsWith("b OK Begin TLS", await raw.CommandAsync("b STARTTLS"));
        await raw.StartTlsAsync();
        var caps = await raw.CommandAsync("c CAPABILITY");
        Assert.DoesNotContain("STARTTLS", caps);
        Assert.DoesNotContain("LOGINDISABLED", caps);
        Assert.Contains("AUTH=PLAIN", caps);
        Assert.Contains("d OK [CAPABILITY", await raw.CommandAsync($"d LOGIN {Alice} {AlicePassword}"));
    }

    [Fact]
    public async Task Commands_pipelined_after_starttls_are_refused()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        await raw.SendAsync($"a STARTTLS\r\nb LOGIN {Alice} {AlicePassword}\r\n");
        Assert.StartsWith("a BAD Commands pipelined after STARTTLS", await raw.UntilTaggedAsync("a"));
        Assert.True(await raw.ClosedAsync());
    }

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
    public async Task Authenticate_plain_with_and_without_initial_response_and_login()
    {
        var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{Alice}\0{AlicePassword}"));
        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            Assert.StartsWith("a OK [CAPABILITY", await raw.CommandAsync("a AUTHENTICATE PLAIN " + plain));
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            await raw.SendAsync("a AUTHENTICATE PLAIN\r\n");
            Assert.Equal("+ ", await raw.LineAsync());
            await raw.SendAsync(plain + "\r\n");
            Assert.StartsWith("a OK", await raw.UntilTaggedAsync("a"));
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            await raw.SendAsync("a AUTHENTICATE LOGIN\r\n");
            Assert.Equal("+ VXNlcm5hbWU6", await raw.LineAsync());
            await raw.SendAsync(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Alice)) + "\r\n");
            Assert.Equal("+ UGFzc3dvcmQ6", await raw.LineAsync());
            await raw.SendAsync(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(AlicePassword)) + "\r\n");
            Assert.StartsWith("a OK", await raw.UntilTaggedAsync("a"));
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            await raw.SendAsync("a AUTHENTICATE PLAIN\r\n");
            await raw.LineAsync();
            await raw.SendAsync("*\r\n");
            Assert.Equal("a BAD Authentication cancelled\r\n", await raw.UntilTaggedAsync("a"));
            Assert.Equal("b NO [CANNOT] Unsupported authentication mechanism\r\n", await raw.CommandAsync("b AUTHENTICATE CRAM-MD5"));
            Assert.Equal("c BAD Malformed PLAIN response\r\n", await raw.CommandAsync("c AUTHENTICATE PLAIN !!!"));
        }
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

    [Fact]
    public async Task Id_enable_and_namespace()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("* ID (\"name\" \"Sealpost\" \"vendor\" \"Sealpost\")\r\na OK ID completed\r\n", await raw.CommandAsync("a ID (\"name\" \"test\" \"version\" NIL)"));
        Assert.Equal("* ID (\"name\" \"Sealpost\" \"vendor\" \"Sealpost\")\r\nb OK ID completed\r\n", await raw.CommandAsync("b ID NIL"));
        Assert.Equal("* ENABLED IMAP4rev2\r\nc OK ENABLE completed\r\n", await raw.CommandAsync("c ENABLE IMAP4rev2 X-UNKNOWN"));
        Assert.Equal("* ENABLED\r\nd OK ENABLE completed\r\n", await raw.CommandAsync("d ENABLE IMAP4rev2"));
        Assert.Equal("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\ne OK NAMESPACE completed\r\n", await raw.CommandAsync("e NAMESPACE"));
        Assert.Equal("f BAD ENABLE needs at least one capability\r\n", await raw.CommandAsync("f ENABLE"));
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

    [Fact]
    public async Task Compress_deflate_carries_the_session()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK DEFLATE active\r\n", await raw.CommandAsync("a COMPRESS DEFLATE"));
        // The rest of this session is compressed: speak DEFLATE by hand.
        var field = typeof(ImapRaw).GetField("_stream", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var inner = (Stream)field.GetValue(raw)!;
        var deflate = new System.IO.Compression.DeflateStream(inner, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true);
        var inflate = new System.IO.Compression.DeflateStream(inner, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true);
        await deflate.WriteAsync("b SELECT INBOX\r\n"u8.ToArray());
        await deflate.FlushAsync();
        var text = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!text.ToString().Contains("b OK"))
        {
            var n = await inflate.ReadAsync(buffer, cts.Token);
            Assert.True(n > 0);
            text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }

        Assert.Contains("* 0 EXISTS", text.ToString());
        Assert.Contains("b OK [READ-WRITE] SELECT completed", text.ToString());
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
