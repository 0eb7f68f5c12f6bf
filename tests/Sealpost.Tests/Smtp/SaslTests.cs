using System.Text;
using Sealpost.Core.Configuration;
using Sealpost.Domain.Sasl;
using Sealpost.Imap;
using Sealpost.Smtp;
using Sealpost.Tests.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Smtp;

/// <summary>The one SASL server (PLAIN, LOGIN) every protocol uses: one case per line of the table.</summary>
public sealed class SaslExchangeTests
{
    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static TheoryData<string, string?, string[], string> Cases() => new()
    {
        { "PLAIN", B64("\0alice\0pw"), [], "credentials alice/pw" },
        { "plain", B64("alice\0alice\0pw"), [], "credentials alice/pw" },
        { "PLAIN", null, [B64("\0alice\0pw")], "credentials alice/pw" },
        { "PLAIN", B64("mallory\0alice\0pw"), [], "malformed" },
        { "PLAIN", B64("\0\0pw"), [], "malformed" },
        { "PLAIN", "=", [], "malformed" },
        { "PLAIN", "!!!", [], "malformed" },
        { "PLAIN", null, ["*"], "cancelled" },
        { "PLAIN", "*", [], "cancelled" },
        { "LOGIN", null, [B64("alice"), B64("pw")], "credentials alice/pw" },
        { "LOGIN", B64("alice"), [B64("pw")], "credentials alice/pw" },
        { "LOGIN", "=", [B64("pw")], "credentials /pw" },
        { "LOGIN", B64("alice"), ["="], "credentials alice/" },
        { "LOGIN", null, [B64("alice"), "*"], "cancelled" },
        { "LOGIN", null, ["%%%"], "malformed" },
        { "LOGIN", B64("alice"), [B64("\u00e9t\u00e9")], "credentials alice/\u00e9t\u00e9" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Steps(string mechanism, string? initial, string[] answers, string expected)
    {
        var sasl = SaslExchange.Start(mechanism)!;
        var step = sasl.Begin(initial);
        foreach (var answer in answers)
        {
            Assert.IsType<SaslStep.Challenge>(step);
            step = sasl.Continue(answer);
        }

        Assert.Equal(expected, step switch
        {
            SaslStep.Credentials c => $"credentials {c.User}/{c.Password}",
            SaslStep.Malformed => "malformed",
            SaslStep.Cancelled => "cancelled",
            _ => "challenge",
        });
    }

    [Theory]
    [InlineData("CRAM-MD5")]
    [InlineData("")]
    [InlineData("XOAUTH2")]
    public void Unknown_mechanisms_have_no_exchange(string mechanism) => Assert.Null(SaslExchange.Start(mechanism));

    [Fact]
    public void A_finished_exchange_takes_no_more_lines()
    {
        var sasl = SaslExchange.Start("PLAIN")!;
        sasl.Begin("*");
        Assert.Throws<InvalidOperationException>(() => sasl.Continue("x"));
    }
}

/// <summary>SMTP AUTH and IMAP AUTHENTICATE behave the same way because they share the exchange.</summary>
public sealed class SaslProtocolTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(o =>
    {
        o.Smtp.AllowPlaintextAuthOnLoopback = true;
        o.Imap.AllowPlaintextAuthOnLoopback = true;
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<SmtpRaw> SubmissionAsync()
    {
        var smtp = await SmtpRaw.ConnectAsync(_server.Server.SmtpEndpoint(SmtpListenerKind.Submission));
        await smtp.ReplyAsync();
        await smtp.CommandAsync("EHLO test");
        return smtp;
    }

    [Fact]
    public async Task Smtp_takes_an_equals_sign_as_an_empty_initial_response()
    {
        await using var smtp = await SubmissionAsync();
        Assert.StartsWith("334 UGFzc3dvcmQ6", await smtp.CommandAsync("AUTH LOGIN ="));
    }

    [Fact]
    public async Task Imap_takes_an_equals_sign_as_an_empty_initial_response()
    {
        await using var raw = await ImapRaw.ConnectAsync(_server.Server.ImapEndpoint(ImapListenerKind.StartTls));
        await raw.GreetingAsync();
        await raw.SendAsync("a AUTHENTICATE LOGIN =\r\n");
        Assert.Equal("+ UGFzc3dvcmQ6", await raw.LineAsync());
    }

    /// <summary>An over-long answer ends the exchange: the next line is a command, not the password.</summary>
    [Fact]
    public async Task Smtp_auth_login_does_not_lose_step_after_an_overlong_answer()
    {
        await using var smtp = await SubmissionAsync();
        Assert.StartsWith("334 VXNlcm5hbWU6", await smtp.CommandAsync("AUTH LOGIN"));
        Assert.StartsWith("500 5.5.6", await smtp.CommandAsync(new string('A', 100_000)));
        Assert.StartsWith("250 ", await smtp.CommandAsync("NOOP"));
        Assert.StartsWith("334 VXNlcm5hbWU6", await smtp.CommandAsync("AUTH LOGIN")); // no failure was counted
        Assert.StartsWith("334 UGFzc3dvcmQ6", await smtp.CommandAsync(Convert.ToBase64String("bob@example.test"u8)));
        Assert.StartsWith("235 ", await smtp.CommandAsync(Convert.ToBase64String("bob-dev-password"u8)));
    }

    [Theory]
    [InlineData("AUTH PLAIN !!!", "501 5.5.2")]
    [InlineData("AUTH PLAIN =", "501 5.5.2")]
    [InlineData("AUTH CRAM-MD5", "504 5.5.4")]
    public async Task Smtp_malformed_exchanges_answer_501_and_keep_the_session(string command, string expected)
    {
        await using var smtp = await SubmissionAsync();
        Assert.StartsWith(expected, await smtp.CommandAsync(command));
        Assert.StartsWith("250 ", await smtp.CommandAsync("NOOP"));
    }
}
