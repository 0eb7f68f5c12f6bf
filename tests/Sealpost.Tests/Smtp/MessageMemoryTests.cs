using System.Text;
using Sealpost.Core.Connections;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

public sealed class MessageBufferTests
{
    [Fact]
    public void Keeps_exactly_the_limit_then_notes_it_is_too_big()
    {
        using var buffer = new MessageBuffer(100_000, budget: null);
        var data = Enumerable.Range(0, 150_000).Select(i => (byte)i).ToArray();
        buffer.Write(data.AsSpan(0, 70_000));
        buffer.Write(data[70_000]);
        buffer.Write(data.AsSpan(70_001, 29_999));
        Assert.False(buffer.TooBig);
        Assert.Equal(data[..100_000], buffer.ToArray());

        buffer.Write((byte)1);
        Assert.True(buffer.TooBig);
        Assert.Equal(100_000, buffer.Length);
    }

    [Fact]
    public void Takes_from_the_budget_per_segment_and_gives_it_all_back()
    {
        var budget = new MessageMemoryBudget(200_000);
        using (var buffer = new MessageBuffer(1_000_000, budget))
        {
            buffer.Write(new byte[10]);
            Assert.Equal(64 * 1024, budget.Used);
            buffer.Write(new byte[150_000]);
            Assert.Equal(3 * 64 * 1024, budget.Used);
            buffer.Write(new byte[100_000]); // a fourth segment does not fit
            Assert.True(buffer.OverBudget);
            Assert.False(buffer.TooBig);
        }

        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public void A_prepaid_reservation_is_used_before_asking_for_more()
    {
        var budget = new MessageMemoryBudget(300_000);
        Assert.True(budget.TryReserve(200_000)); // what MAIL FROM SIZE=200000 set aside
        using (var buffer = new MessageBuffer(1_000_000, budget, prepaid: 200_000))
        {
            buffer.Write(new byte[190_000]);
            Assert.Equal(200_000, budget.Used); // three segments fit in what was prepaid
            buffer.Write(new byte[20_000]);
            Assert.Equal(4 * 64 * 1024, budget.Used); // only the fourth segment's excess was added
            Assert.Equal(210_000, buffer.ToArray().Length);
        }

        Assert.Equal(0, budget.Used);
    }
}

/// <summary>Limits:MaxMessageMemoryBytes over real sessions: refusals are 452 4.3.1 and nothing leaks.</summary>
public sealed class MessageMemoryTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Limits.MaxMessageBytes = 200_000;
        o.Limits.MaxMessageMemoryBytes = 300_000;
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<SmtpRaw> OpenAsync()
    {
        var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        return smtp;
    }

    private static string Body(int size) => "Subject: big\r\n\r\n" + string.Join("\r\n", Enumerable.Repeat(new string('x', 98), size / 100)) + "\r\n.";

    [Fact]
    public async Task Announced_sizes_are_set_aside_at_mail_and_unannounced_data_is_refused_after_its_end()
    {
        await using var first = await OpenAsync();
        Assert.StartsWith("250", await first.CommandAsync("MAIL FROM:<a@remote.example> SIZE=200000"));

        // 200,000 of 300,000 are set aside: another 200,000 cannot be, and says so at MAIL.
        await using var second = await OpenAsync();
        Assert.StartsWith("452 4.3.1", await second.CommandAsync("MAIL FROM:<b@remote.example> SIZE=200000"));

        // Without SIZE the data is read to its end, then refused; the session stays usable.
        Assert.StartsWith("250", await second.CommandAsync("MAIL FROM:<b@remote.example>"));
        Assert.StartsWith("250", await second.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await second.CommandAsync("DATA"));
        Assert.StartsWith("452 4.3.1", await second.CommandAsync(Body(150_000)));
        Assert.StartsWith("250", await second.CommandAsync("NOOP"));

        // The first delivers what it announced.
        Assert.StartsWith("250", await first.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await first.CommandAsync("DATA"));
        Assert.StartsWith("250", await first.CommandAsync(Body(190_000)));

        // Everything set aside came back: the second can now announce and send the same.
        Assert.StartsWith("250", await second.CommandAsync("MAIL FROM:<b@remote.example> SIZE=200000"));
        Assert.StartsWith("250", await second.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await second.CommandAsync("DATA"));
        Assert.StartsWith("250", await second.CommandAsync(Body(190_000)));
    }

    [Fact]
    public async Task Sessions_that_vanish_mid_transaction_give_their_share_back()
    {
        for (var i = 0; i < 3; i++)
        {
            var gone = await OpenAsync();
            // The previous round's sessions hung up; the server gives their shares back once it notices.
            Assert.StartsWith("250", await WhenShareIsFreeAsync(gone, "MAIL FROM:<a@remote.example> SIZE=200000"));
            Assert.StartsWith("250", await gone.CommandAsync("RCPT TO:<bob@example.test>"));
            Assert.StartsWith("354", await gone.CommandAsync("DATA"));
            await gone.SendAsync(Encoding.ASCII.GetBytes("Subject: cut\r\n\r\n" + new string('y', 120_000))); // no end: then the peer is gone
            await gone.DisposeAsync();

            var bdat = await OpenAsync();
            Assert.StartsWith("250", await bdat.CommandAsync("MAIL FROM:<a@remote.example>"));
            Assert.StartsWith("250", await bdat.CommandAsync("RCPT TO:<bob@example.test>"));
            Assert.StartsWith("250", await bdat.CommandAsync("BDAT 150000\r\n" + new string('z', 150_000)[..^2]));
            await bdat.DisposeAsync();
        }

        // If any of those had kept its share, 200,000 could not be set aside now.
        await using var next = await OpenAsync();
        Assert.StartsWith("250", await WhenShareIsFreeAsync(next, "MAIL FROM:<c@remote.example> SIZE=200000"));
    }

    /// <summary>Sends a MAIL command again while it is answered 452, for up to 10 s (the server noticing hang-ups).</summary>
    private static async Task<string> WhenShareIsFreeAsync(SmtpRaw session, string mail)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string reply;
        while ((reply = await session.CommandAsync(mail)).StartsWith("452", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        return reply;
    }
}
