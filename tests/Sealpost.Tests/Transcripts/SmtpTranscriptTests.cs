using Sealpost.Smtp;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Transcripts;

/// <summary>
/// SMTP grammar and sequence, one case per row, over an in-memory session: the commands before the last
/// set the scene (their replies are read, not checked); the last one's reply must start as written.
/// </summary>
public sealed class SmtpTranscriptTests(TranscriptServer fixture) : IClassFixture<TranscriptServer>
{
    private static readonly string[] Hello = ["EHLO client.example"];
    private static readonly string[] InTransaction = ["EHLO client.example", "MAIL FROM:<carol@remote.example>"];

    public static TheoryData<string, string[], string> Cases => new()
    {
        { "EHLO without a name (no enhanced codes before EHLO, RFC 2034 §3)", ["EHLO"], "501 Syntax" },
        { "HELO without a name", ["HELO"], "501 Syntax" },
        { "HELO answers without extensions", ["HELO client.example"], "250 " },
        { "MAIL before EHLO", ["MAIL FROM:<carol@remote.example>"], "503 Send EHLO" },
        { "MAIL without a colon", [.. Hello, "MAIL FROM carol@remote.example"], "501 5.5.4" },
        { "MAIL path without brackets", [.. Hello, "MAIL FROM:carol@remote.example"], "501 5.5.4" },
        { "MAIL twice", [.. InTransaction, "MAIL FROM:<dave@remote.example>"], "503 5.5.1" },
        { "MAIL SIZE not a number", [.. Hello, "MAIL FROM:<carol@remote.example> SIZE=12k"], "501 5.5.4" },
        { "MAIL SIZE over the limit", [.. Hello, "MAIL FROM:<carol@remote.example> SIZE=999999999999"], "552 5.3.4" },
        { "MAIL BODY unknown", [.. Hello, "MAIL FROM:<carol@remote.example> BODY=9BIT"], "501 5.5.4" },
        { "MAIL REQUIRETLS without TLS", [.. Hello, "MAIL FROM:<carol@remote.example> REQUIRETLS"], "530 5.7.10" },
        { "MAIL non-ASCII without SMTPUTF8", [.. Hello, "MAIL FROM:<jöran@remote.example>"], "553 5.6.7" },
        { "MAIL null path", [.. Hello, "MAIL FROM:<>"], "250 2.1.0" },
        { "MAIL bad address", [.. Hello, "MAIL FROM:<carol@@remote.example>"], "553 5.1.3" },
        { "RCPT before MAIL", [.. Hello, "RCPT TO:<alice@example.test>"], "503 5.5.1" },
        { "RCPT local", [.. InTransaction, "RCPT TO:<alice@example.test>"], "250 2.1.5" },
        { "RCPT local, case folded", [.. InTransaction, "RCPT TO:<ALICE@Example.Test>"], "250 2.1.5" },
        { "RCPT unknown local", [.. InTransaction, "RCPT TO:<nobody@example.test>"], "550 5.1.1" },
        { "RCPT elsewhere without AUTH", [.. InTransaction, "RCPT TO:<someone@elsewhere.example>"], "554 5.7.1" },
        { "RCPT without a path", [.. InTransaction, "RCPT TO:"], "501 5.5.4" },
        { "DATA before MAIL", [.. Hello, "DATA"], "503 5.5.1" },
        { "DATA without recipients", [.. InTransaction, "DATA"], "554 5.5.1" },
        { "DATA with an argument", [.. InTransaction, "RCPT TO:<alice@example.test>", "DATA now"], "501 5.5.4" },
        { "DATA ready", [.. InTransaction, "RCPT TO:<alice@example.test>", "DATA"], "354 " },
        { "RSET ends the transaction", [.. InTransaction, "RSET", "RCPT TO:<alice@example.test>"], "503 5.5.1" },
        { "NOOP with an argument", [.. Hello, "NOOP anything at all"], "250 2.0.0" },
        { "VRFY says nothing", [.. Hello, "VRFY alice"], "252 2.1.5" },
        { "EXPN says nothing", [.. Hello, "EXPN staff"], "252 2.1.5" },
        { "HELP", [.. Hello, "HELP"], "214 2.0.0" },
        { "unknown verb", [.. Hello, "FROB"], "500 5.5.2" },
        { "NUL in a command", [.. Hello, "NOOP a\0b"], "501 5.5.4" },
        { "AUTH on the inbound port", [.. Hello, "AUTH PLAIN"], "503 5.5.1" },
        { "BDAT with a bad size", [.. InTransaction, "BDAT ten"], "501 5.5.4" },
        { "QUIT", [.. Hello, "QUIT"], "221 2.0.0" },
        { "line too long", [.. Hello, "NOOP " + new string('x', 70_000)], "500 5.5.6" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Inbound(string name, string[] commands, string expected)
    {
        await using var smtp = InMemorySession.Smtp(fixture.Server.Server);
        Assert.StartsWith("220 ", await smtp.ReplyAsync());
        var reply = "";
        foreach (var command in commands)
        {
            reply = await smtp.CommandAsync(command);
        }

        Assert.True(reply.StartsWith(expected, StringComparison.Ordinal), $"{name}: '{commands[^1]}' was answered '{reply}'");
    }

    public static TheoryData<string, string[], string> SubmissionCases => new()
    {
        { "MAIL before AUTH", [.. Hello, "MAIL FROM:<alice@example.test>"], "530 5.7.0" },
        { "AUTH before EHLO", ["AUTH PLAIN"], "503 Send EHLO first" },
        { "AUTH unknown mechanism", [.. Hello, "AUTH CRAM-MD5"], "504 5.5.4" },
        { "AUTH PLAIN wrong password", [.. Hello, "AUTH PLAIN " + Plain(TranscriptServer.Alice, "wrong")], "535 5.7.8" },
        { "AUTH PLAIN not base64", [.. Hello, "AUTH PLAIN !!!"], "501 5.5.2" },
        { "AUTH cancelled", [.. Hello, "AUTH LOGIN", "*"], "501 5.0.0" },
        { "AUTH PLAIN", [.. Hello, "AUTH PLAIN " + Plain(TranscriptServer.Alice, TranscriptServer.AlicePassword)], "235 2.7.0" },
        { "AUTH PLAIN with an empty initial response", [.. Hello, "AUTH PLAIN ="], "501 5.5.2" },
        { "AUTH twice", [.. Hello, "AUTH PLAIN " + Plain(TranscriptServer.Alice, TranscriptServer.AlicePassword), "AUTH PLAIN x"], "503 5.5.1" },
        { "MAIL as someone else", [.. Hello, "AUTH PLAIN " + Plain(TranscriptServer.Alice, TranscriptServer.AlicePassword), "MAIL FROM:<bob@example.test>"], "553 5.7.1" },
        { "MAIL null path on submission", [.. Hello, "AUTH PLAIN " + Plain(TranscriptServer.Alice, TranscriptServer.AlicePassword), "MAIL FROM:<>"], "553 5.7.1" },
        { "RCPT elsewhere after AUTH", [.. Hello, "AUTH PLAIN " + Plain(TranscriptServer.Alice, TranscriptServer.AlicePassword), "MAIL FROM:<alice@example.test>", "RCPT TO:<someone@elsewhere.example>"], "250 2.1.5" },
    };

    [Theory]
    [MemberData(nameof(SubmissionCases))]
    public async Task Submission(string name, string[] commands, string expected)
    {
        await using var smtp = InMemorySession.Smtp(fixture.Server.Server, SmtpListenerKind.Submission);
        Assert.StartsWith("220 ", await smtp.ReplyAsync());
        var reply = "";
        foreach (var command in commands)
        {
            reply = await smtp.CommandAsync(command);
        }

        Assert.True(reply.StartsWith(expected, StringComparison.Ordinal), $"{name}: '{commands[^1]}' was answered '{reply}'");
    }

    public static TheoryData<string, string[]> Closing => new()
    {
        { "QUIT", ["QUIT"] },
        { "BDAT with a bad size loses the chunk boundary (RFC 3030 §4.2)", [.. InTransaction, "BDAT ten"] },
        { "STARTTLS with a command pipelined after it (RFC 3207 §4.2)", ["EHLO client.example", "STARTTLS\r\nNOOP"] },
    };

    [Theory]
    [MemberData(nameof(Closing))]
    public async Task Closes_after(string name, string[] commands)
    {
        await using var smtp = InMemorySession.Smtp(fixture.Server.Server);
        await smtp.ReplyAsync();
        foreach (var command in commands)
        {
            await smtp.CommandAsync(command);
        }

        Assert.True(await smtp.ClosedAsync(), name);
    }

    private static string Plain(string user, string password) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
}
