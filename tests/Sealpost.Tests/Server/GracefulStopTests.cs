using System.Net;
using System.Net.Sockets;
using Sealpost.Core.Configuration;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Server;

/// <summary>
/// SIGTERM on a real `serve --dev` process, as a rolling upgrade or failover does it: listeners close at
/// once, an IMAP session ends with BYE [UNAVAILABLE] after its current command, an SMTP session with
/// 421 4.3.2 after its transaction in flight, and what got 250 is kept.
/// </summary>
public sealed class GracefulStopTests : IDisposable
{
    private readonly TempFolder _folder = new("sealpost-stop");

    public void Dispose() => _folder.Dispose();

    private string Data => Path.Combine(_folder.Path, "data");

    private sealed record Serving(ChildProcess Process, IPEndPoint Imap, IPEndPoint Smtp);

    private async Task<Serving> StartAsync()
    {
        var server = ChildProcess.Start("sealpost",
            ["serve", "--dev", "--data", Data, .. TestOptions.LoopbackListeners, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile,
             "--set", "Limits:ShutdownSeconds=60", "--verbose"]);
        await server.WaitForLineAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        IPEndPoint Endpoint(string label, int field) => IPEndPoint.Parse(server.Lines.First(l => l.TrimStart().StartsWith(label, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[field]);
        return new Serving(server, Endpoint("IMAP ", 1), Endpoint("SMTP in", 2));
    }

    private static async Task StopAndWaitForDrainAsync(ChildProcess server)
    {
        server.Terminate();
        await server.WaitForStderrAsync("Stopping: listeners closed", TimeSpan.FromSeconds(30));
    }

    private static async Task<ImapRaw> LoginAsync(IPEndPoint imap)
    {
        var raw = await ImapRaw.ConnectAsync(imap);
        await raw.GreetingAsync();
        await raw.CommandAsync("s STARTTLS");
        await raw.StartTlsAsync();
        await raw.CommandAsync("l LOGIN alice@example.test alice-dev-password");
        return raw;
    }

    [Fact]
    public async Task An_idle_imap_session_is_told_bye_unavailable()
    {
        var serving = await StartAsync();
        using var server = serving.Process;
        await using var imap = await LoginAsync(serving.Imap);
        await imap.CommandAsync("a SELECT INBOX");
        server.Terminate();
        Assert.StartsWith("* BYE [UNAVAILABLE]", await imap.LineAsync());
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        // Closing the listeners is the stop, not an accept failure worth a warning.
        Assert.DoesNotContain("Accepting a connection failed", server.Stderr);
    }

    [Fact]
    public async Task An_imap_command_under_way_finishes_before_the_bye()
    {
        var serving = await StartAsync();
        using var server = serving.Process;
        await using var imap = await LoginAsync(serving.Imap);
        const string message = "Subject: appended while stopping\r\n\r\nkept\r\n";
        await imap.SendAsync($"a APPEND INBOX {{{message.Length}}}\r\n");
        Assert.StartsWith("+", await imap.LineAsync());
        await StopAndWaitForDrainAsync(server);

        await imap.SendAsync(message + "\r\n");
        Assert.StartsWith("a OK", await imap.LineAsync());
        Assert.StartsWith("* BYE [UNAVAILABLE]", await imap.LineAsync());
    }

    [Fact]
    public async Task An_imap_session_in_idle_is_told_bye_unavailable()
    {
        var serving = await StartAsync();
        using var server = serving.Process;
        await using var imap = await LoginAsync(serving.Imap);
        await imap.CommandAsync("a SELECT INBOX");
        await imap.SendAsync("i IDLE\r\n");
        Assert.StartsWith("+", await imap.LineAsync());
        server.Terminate();
        Assert.StartsWith("* BYE [UNAVAILABLE]", await imap.LineAsync());
    }

    [Fact]
    public async Task An_idle_smtp_session_is_told_421_at_once()
    {
        var serving = await StartAsync();
        using var server = serving.Process;
        await using var smtp = await SmtpRaw.ConnectAsync(serving.Smtp);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        server.Terminate();
        Assert.StartsWith("421 4.3.2", await smtp.ReplyAsync());
    }

    [Fact]
    public async Task Clients_that_hang_up_at_once_and_a_stop_leave_no_stack_trace_in_the_log()
    {
        var serving = await StartAsync();
        using var server = serving.Process;
        foreach (var endpoint in new[] { serving.Smtp, serving.Imap })
        {
            for (var i = 0; i < 5; i++)
            {
                using var client = new TcpClient();
                await client.ConnectAsync(endpoint); // and gone before (or just after) the greeting
            }
        }

        await using var smtp = await SmtpRaw.ConnectAsync(serving.Smtp);
        await smtp.ReplyAsync(); // the listener has served connections after the hang-ups
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("Unhandled exception", server.Stderr);
        Assert.DoesNotContain("Kestrel", server.Stderr);
        Assert.DoesNotContain("   at ", server.Stderr);
    }

    [Fact]
    public async Task New_connections_are_refused_while_a_transaction_finishes()
    {
        var serving = await StartAsync();
        using var server = serving.Process;
        await using var smtp = await SmtpRaw.ConnectAsync(serving.Smtp);
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        await smtp.CommandAsync("MAIL FROM:<carol@remote.example>");
        await smtp.CommandAsync("RCPT TO:<alice@example.test>");
        await StopAndWaitForDrainAsync(server);

        await AssertRefusedAsync(serving.Imap);
        await AssertRefusedAsync(serving.Smtp);
    }

    [Fact]
    public async Task An_smtp_transaction_in_flight_is_accepted_then_421_and_the_message_is_kept()
    {
        var serving = await StartAsync();
        using (var server = serving.Process)
        {
            await using var smtp = await SmtpRaw.ConnectAsync(serving.Smtp);
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO client.example");
            Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<carol@remote.example>"));
            Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<alice@example.test>"));
            await StopAndWaitForDrainAsync(server);

            Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
            Assert.StartsWith("250", await smtp.CommandAsync("From: carol@remote.example\r\nTo: alice@example.test\r\nSubject: sent while stopping\r\n\r\nkept\r\n."));
            Assert.StartsWith("421 4.3.2", await smtp.ReplyAsync());
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var again = await StartAsync();
        using (again.Process)
        {
            await using var imap = await LoginAsync(again.Imap);
            Assert.Contains("* STATUS INBOX (MESSAGES 1)", await imap.CommandAsync("a STATUS INBOX (MESSAGES)"));
        }
    }

    /// <summary>The listeners close just after the stop begins: try until refused (bounded).</summary>
    private static async Task AssertRefusedAsync(IPEndPoint endpoint)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(endpoint);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < until, $"{endpoint} still accepts connections while stopping");
            await Task.Delay(50);
        }
    }
}
