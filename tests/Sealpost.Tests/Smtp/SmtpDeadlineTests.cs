using System.Net.Sockets;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>A command line has a deadline from its first octet (Smtp:CommandLineSeconds), however slowly it trickles in.</summary>
public sealed class SmtpDeadlineTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Smtp.CommandLineSeconds = 3;
        o.Smtp.AllowPlaintextAuthOnLoopback = true;
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(SmtpListenerKind.Inbound)]
    [InlineData(SmtpListenerKind.Submission)]
    public async Task A_trickled_command_line_is_cut_at_its_deadline(SmtpListenerKind kind)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(_server.Server.SmtpEndpoint(kind));
        Assert.True(await Trickle.UntilClosedAsync(client.GetStream(), (byte)'N'));
    }

    [Fact]
    public async Task A_trickled_sasl_answer_is_cut_at_its_deadline()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Submission));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO test");
        Assert.StartsWith("334 ", await smtp.CommandAsync("AUTH LOGIN"));
        Assert.True(await Trickle.UntilClosedAsync(smtp.Stream, (byte)'N'));
    }

    /// <summary>The deadline belongs to one line: idling between complete lines past it is the idle timeout's business.</summary>
    [Fact]
    public async Task Idle_time_between_whole_lines_is_not_cut()
    {
        await using var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
        await smtp.ReplyAsync();
        Assert.StartsWith("250 ", await smtp.CommandAsync("NOOP"));
        await Task.Delay(TimeSpan.FromSeconds(4)); // longer than Smtp:CommandLineSeconds, shorter than the idle timeout
        Assert.StartsWith("250 ", await smtp.CommandAsync("NOOP"));
    }
}
