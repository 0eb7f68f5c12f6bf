using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// Limits:MaxMessageMemoryBytes also bounds IMAP literals, and SMTP and IMAP share it: a literal that
/// does not fit is refused (NO [LIMIT] before a synchronising literal is sent, BYE [LIMIT] for a
/// non-synchronising one already on its way) and every octet set aside comes back afterwards.
/// </summary>
public sealed class AppendMemoryTests : ImapTestBase
{
    protected override void Configure(Sealpost.Core.Configuration.SealpostOptions options)
    {
        options.Limits.MaxMessageBytes = 100_000;
        options.Limits.MaxMessageMemoryBytes = 150_000;
        options.Limits.MaxMessageMemoryPerAddressBytes = 150_000; // every session here comes from 127.0.0.1
    }

    private static string Literal(int size) => "Subject: big\r\n\r\n" + new string('x', size - 18) + "\r\n";

    /// <summary>An SMTP session in the middle of a 95,000-octet message: its data holds two 64 KiB segments of the 150,000.</summary>
    private async Task<SmtpRaw> SmtpHoldingMemoryAsync()
    {
        var smtp = await SmtpRaw.ConnectAsync(Server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO client.example");
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<a@remote.example>"));
        Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        await smtp.SendAsync("Subject: held\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('y', 98) + "\r\n", 950)));
        var memory = Server.Server.Runtime.MessageMemory;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (memory.Used < 100_000 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10); // until the server holds the data
        }

        return smtp;
    }

    /// <summary>The SMTP message ends and is stored: its memory comes back.</summary>
    private static async Task LetGoAsync(SmtpRaw smtp) => Assert.StartsWith("250", await smtp.CommandAsync("."));

    [Fact]
    public async Task A_synchronising_literal_that_does_not_fit_is_refused_before_it_is_sent()
    {
        await using var raw = await LoginAsync();
        await using var smtp = await SmtpHoldingMemoryAsync();

        var big = Literal(80_000);
        Assert.Equal("a NO [LIMIT] Server busy: too much message data in flight; try again later\r\n", await raw.CommandAsync($"a APPEND INBOX {{{big.Length}}}"));
        Assert.Equal("b OK NOOP completed\r\n", await raw.CommandAsync("b NOOP"));

        // Once SMTP lets go, the same APPEND goes through, and again: nothing stays set aside.
        await LetGoAsync(smtp);
        for (var i = 0; i < 3; i++)
        {
            await raw.SendAsync($"c{i} APPEND INBOX {{{big.Length}}}\r\n");
            Assert.StartsWith("+ ", await raw.LineAsync());
            await raw.SendAsync(big + "\r\n");
            Assert.Contains($"c{i} OK [APPENDUID", await raw.UntilTaggedAsync($"c{i}"));
        }
    }

    [Fact]
    public async Task A_non_synchronising_literal_that_does_not_fit_ends_the_session()
    {
        await using var smtp = await SmtpHoldingMemoryAsync();
        await using var raw = await LoginAsync();
        var big = Literal(80_000);
        await raw.SendAsync($"a APPEND INBOX {{{big.Length}+}}\r\n{big.Substring(0, 1000)}");
        Assert.StartsWith("* BYE [LIMIT]", await raw.LineAsync());
        Assert.True(await raw.ClosedAsync());

        // The refused session gave nothing away for good: after SMTP lets go, a new session appends.
        await LetGoAsync(smtp);
        await using var again = await LoginAsync();
        Assert.Contains("d OK [APPENDUID", await again.CommandAsync($"d APPEND INBOX {{{big.Length}+}}\r\n{big}"));
    }
}
