using System.Text;
using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Fuzz;

/// <summary>
/// Mutated SMTP commands against a live inbound session: every one gets a reply that is not the
/// internal-error 421, and the session stays open to answer the next. Seeded, so a failure reproduces.
/// </summary>
public sealed class SmtpSessionFuzzTests
{
    private static readonly string[] Seeds =
    [
        "EHLO client.example.test",
        "HELO [192.0.2.1]",
        "MAIL FROM:<carol@remote.example> SIZE=100 BODY=8BITMIME RET=FULL ENVID=x+2By",
        "RCPT TO:<alice@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;alice@example.test",
        "RCPT TO:<nobody@example.test>",
        "MAIL FROM:<> SMTPUTF8",
        "RSET",
        "NOOP hello",
        "VRFY alice",
        "EXPN staff",
        "HELP MAIL",
        "AUTH LOGIN",
        "AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABub3BlAA==",
    ];

    [Fact]
    public async Task A_session_answers_every_mutated_command_and_stays_open()
    {
        await using var server = await TestServer.StartAsync(o => o.Smtp.MaxErrorsPerSession = 1000);
        var seeds = Seeds.Select(Encoding.UTF8.GetBytes).ToList();
        var sent = 0;
        SmtpRaw? smtp = null;
        try
        {
            foreach (var input in Mutator.Mutations(seeds, seed: 20261206, count: 400))
            {
                // One line per command keeps the transcript in step; DATA, BDAT, STARTTLS and QUIT change
                // what follows the reply, so they are left to the transcript tests.
                var line = Encoding.UTF8.GetString(input).Replace("\r", "").Replace("\n", "");
                var verb = line.Split(' ')[0].ToUpperInvariant();
                if (verb is "DATA" or "BDAT" or "STARTTLS" or "QUIT")
                {
                    continue;
                }

                // A long run (scripts/fuzz.sh) starts a new session before Smtp:MaxErrorsPerSession ends one.
                if (sent++ % 500 == 0)
                {
                    if (smtp is not null)
                    {
                        await smtp.DisposeAsync();
                    }

                    smtp = await SmtpRaw.ConnectAsync(server.Server.SmtpEndpoint(SmtpListenerKind.Inbound));
                    Assert.StartsWith("220", await smtp.ReplyAsync());
                }

                string reply;
                try
                {
                    reply = await smtp!.CommandAsync(line);
                }
                catch (EndOfStreamException)
                {
                    Assert.Fail($"the session closed on: {line}");
                    throw;
                }

                Assert.False(reply.StartsWith("421", StringComparison.Ordinal), $"'{line}' was answered {reply}");
                Assert.DoesNotContain("Internal", reply);
            }

            Assert.StartsWith("250", await smtp!.CommandAsync("NOOP"));
        }
        finally
        {
            if (smtp is not null)
            {
                await smtp.DisposeAsync();
            }
        }

        Assert.DoesNotContain("SMTP session failed", server.Logs.ToString());
    }
}
