using System.Net.Sockets;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>A connection's end is not an error: clients that hang up and a server that stops mid-transfer leave no exception in the log.</summary>
public sealed class SmtpQuietEndTests
{
    private static void AssertQuiet(string logs)
    {
        Assert.DoesNotContain("Unhandled exception", logs);
        Assert.DoesNotContain("OperationCanceledException", logs);
        Assert.DoesNotContain("   at ", logs); // no stack trace
    }

    [Fact]
    public async Task Clients_that_hang_up_after_the_greeting_end_quietly()
    {
        StringWriter logs;
        await using (var server = await TestServer.StartAsync())
        {
            logs = server.Logs;
            for (var i = 0; i < 30; i++)
            {
                using var client = new TcpClient();
                await client.ConnectAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
                if (i % 2 == 0)
                {
                    _ = await client.GetStream().ReadAsync(new byte[512]); // (part of) the greeting
                }

                client.Client.LingerState = new LingerOption(true, 0); // half of them reset rather than close
                client.Close();
            }
        }

        AssertQuiet(logs.ToString());
    }

    [Fact]
    public async Task A_server_stopping_during_message_data_ends_quietly()
    {
        StringWriter logs;
        SmtpRaw smtp;
        await using (var server = await TestServer.StartAsync())
        {
            logs = server.Logs;
            smtp = await SmtpRaw.ConnectAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
            await smtp.ReplyAsync();
            await smtp.CommandAsync("EHLO peer.example");
            await smtp.CommandAsync("MAIL FROM:<a@remote.example>");
            await smtp.CommandAsync("RCPT TO:<alice@example.test>");
            Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
            await smtp.SendAsync("Subject: half\r\n\r\nonly part of it");
        }

        await smtp.DisposeAsync();
        AssertQuiet(logs.ToString());
    }
}
