using System.Net.Sockets;
using System.Text;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// Limits that bound a whole phase, not one read: a client that trickles a byte a second cannot stay
/// unauthenticated, or inside one command, for ever; before login a literal is only as large as a credential.
/// </summary>
public sealed class ImapDeadlineTests : ImapTestBase
{
    protected override void Configure(Sealpost.Core.Configuration.SealpostOptions options)
    {
        options.Imap.PreAuthTimeoutSeconds = 5;
        options.Imap.CommandTimeoutSeconds = 5;
        options.Imap.MaxPreAuthLiteralBytes = 1024;
    }

    [Fact]
    public async Task The_login_phase_has_a_deadline_however_slowly_bytes_arrive()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(Plain);
        var stream = client.GetStream();
        Assert.True(await Trickle.UntilClosedAsync(stream, (byte)'a'));
    }

    [Fact]
    public async Task A_command_stalled_inside_a_literal_is_cut_at_the_command_deadline()
    {
        await using var raw = await LoginAsync();
        await raw.SendAsync("a APPEND INBOX {100}\r\n");
        Assert.StartsWith("+ ", await raw.LineAsync());
        Assert.True(await Trickle.UntilClosedAsync(raw.Stream, (byte)'x'));
    }

    [Theory]
    [InlineData("a LOGIN {52428800}")]
    [InlineData("a LOGIN {1025}")]
    [InlineData("a AUTHENTICATE PLAIN {2000}")]
    public async Task Before_login_a_literal_larger_than_a_credential_is_refused_before_the_continuation(string line)
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        await raw.SendAsync(line + "\r\n");
        Assert.StartsWith("a NO [TOOBIG] ", await raw.LineAsync());
    }

    [Fact]
    public async Task Before_login_a_credential_sized_literal_is_taken()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        await raw.SendAsync($"a LOGIN {{{Alice.Length}}}\r\n");
        Assert.StartsWith("+ ", await raw.LineAsync());
        await raw.SendAsync($"{Alice} {AlicePassword}\r\n");
        Assert.Contains("a OK", await raw.UntilTaggedAsync("a"));
    }

    [Fact]
    public async Task After_login_large_literals_are_taken()
    {
        await using var raw = await LoginAsync();
        await raw.SendAsync("a APPEND INBOX {100000}\r\n");
        Assert.StartsWith("+ ", await raw.LineAsync());
        var message = "Subject: big\r\n\r\n" + new string('x', 100_000 - 18) + "\r\n";
        await raw.SendAsync(message + "\r\n");
        Assert.Contains("a OK [APPENDUID", await raw.UntilTaggedAsync("a"));
    }
}
