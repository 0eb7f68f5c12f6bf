using Sealpost.Tests.Support;

namespace Sealpost.Tests.Transcripts;

/// <summary>
/// IMAP grammar, states and answers, one case per row, over an in-memory session. Each command's tag is
/// its position ("t1", "t2", ...); the commands before the last set the scene, and the last one's whole
/// answer (its untagged lines and the tagged one) must contain what the row says.
/// </summary>
public sealed class ImapTranscriptTests(TranscriptServer fixture) : IClassFixture<TranscriptServer>
{
    private const string Login = "LOGIN " + TranscriptServer.Alice + " " + TranscriptServer.AlicePassword;

    public static TheoryData<string, string[], string> NotAuthenticated => new()
    {
        { "CAPABILITY before login", ["CAPABILITY"], "* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS AUTH=PLAIN" },
        { "NOOP", ["NOOP"], "t1 OK" },
        { "SELECT before login", ["SELECT INBOX"], "t1 BAD Log in first" },
        { "unknown command", ["FROB"], "t1 BAD Unknown command" },
        { "UID with a command it does not prefix", ["UID SELECT INBOX"], "t1 BAD UID SELECT is not a command" },
        { "UID alone", ["UID"], "t1 BAD UID needs a command" },
        { "LOGIN with a wrong password", ["LOGIN " + TranscriptServer.Alice + " wrong"], "t1 NO [AUTHENTICATIONFAILED]" },
        { "LOGIN without a password", ["LOGIN " + TranscriptServer.Alice], "t1 BAD" },
        { "AUTHENTICATE unknown mechanism", ["AUTHENTICATE CRAM-MD5"], "t1 NO" },
        { "ID", ["ID NIL"], "* ID (" },
    };

    public static TheoryData<string, string[], string> Authenticated => new()
    {
        { "login advertises the capabilities in effect", [], "OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+" },
        { "LOGIN again", ["LOGIN a b"], "t2 BAD Already authenticated" },
        { "STARTTLS after login", ["STARTTLS"], "t2 BAD Already authenticated" },
        { "FETCH without a mailbox", ["FETCH 1 FLAGS"], "t2 BAD No mailbox selected" },
        { "SELECT a name starting with ~", ["SELECT ~foo"], "t2 NO" },
        { "SELECT a name with & misused", ["SELECT a&b"], "t2 NO" },
        { "SELECT punctuation", ["SELECT \"!#$'+,;<=>?@^_|[}\""], "t2 NO" },
        { "LIST with a punctuation pattern", ["LIST \"\" \"!#$'+,;<=>?@^_|[}*\""], "t2 OK" },
        { "LIST INBOX", ["LIST \"\" INBOX"], "* LIST (" },
        { "STATUS of a missing mailbox", ["STATUS Nowhere (MESSAGES)"], "t2 NO [NONEXISTENT]" },
        { "STATUS with an unknown item", ["STATUS INBOX (BOGUS)"], "t2 BAD" },
        { "CREATE INBOX", ["CREATE INBOX"], "t2 NO [ALREADYEXISTS]" },
        { "DELETE INBOX", ["DELETE INBOX"], "t2 NO" },
        { "SETQUOTA", ["SETQUOTA \"\" (STORAGE 10)"], "t2 NO [NOPERM]" },
        { "GETQUOTAROOT", ["GETQUOTAROOT INBOX"], "* QUOTAROOT INBOX" },
        { "NAMESPACE", ["NAMESPACE"], "* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL" },
        { "ENABLE an unknown extension", ["ENABLE X-UNKNOWN"], "t2 OK" },
        { "EXAMINE INBOX is read-only", ["EXAMINE INBOX"], "t2 OK [READ-ONLY]" },
        { "SELECT INBOX is read-write", ["SELECT INBOX"], "t2 OK [READ-WRITE]" },
        { "CLOSE without a mailbox", ["CLOSE"], "t2 BAD No mailbox selected" },
    };

    public static TheoryData<string, string[], string> Selected => new()
    {
        { "FETCH of zero", ["FETCH 0 FLAGS"], "t3 BAD" },
        { "FETCH of an unbalanced list", ["FETCH 1:* (FLAGS"], "t3 BAD" },
        { "FETCH past the end of an empty mailbox", ["FETCH 1 FLAGS"], "t3 BAD" },
        { "UID FETCH up to 4294967295 of an empty mailbox", ["UID FETCH 3:4294967295 FLAGS"], "t3 OK" },
        { "UID SEARCH UID 4294967295", ["UID SEARCH UID 4294967295"], "* SEARCH\r\n" },
        { "SEARCH with a key missing its argument", ["SEARCH FROM"], "t3 BAD" },
        { "SEARCH with an unknown charset", ["SEARCH CHARSET X-NOPE TEXT a"], "t3 NO [BADCHARSET" },
        { "STORE an unknown system flag", ["STORE 1 FLAGS (\\Bogus)"], "t3 BAD" },
        { "a STORE that does not parse does not enable CONDSTORE (RFC 7162 §3.1)", ["STORE 1 (UNCHANGEDSINCE 5) FLAGS (\\Seen", "UID FETCH 1:* (MODSEQ)"], "* OK [HIGHESTMODSEQ" },
        { "MOVE to a missing mailbox", ["MOVE 1:* Nowhere"], "t3 " },
        { "a SELECT that does not parse does not enable CONDSTORE", ["SELECT INBOX (CONDSTORE BOGUS)", "UID FETCH 1:* (MODSEQ)"], "* OK [HIGHESTMODSEQ" },
        { "a STORE of an unknown system flag does not enable CONDSTORE", ["STORE 1 (UNCHANGEDSINCE 5) FLAGS (\\Bogus)", "UID FETCH 1:* (MODSEQ)"], "* OK [HIGHESTMODSEQ" },
        { "an ENABLE that does not parse enables nothing", ["ENABLE CONDSTORE \"x", "UID FETCH 1:* (MODSEQ)"], "* OK [HIGHESTMODSEQ" },
        { "a LIST that does not parse does not enable CONDSTORE", ["LIST \"\" \"*\" RETURN (STATUS (HIGHESTMODSEQ) BOGUS)", "UID FETCH 1:* (MODSEQ)"], "* OK [HIGHESTMODSEQ" },
        { "UTF8=ACCEPT after SELECT is refused before anything is enabled", ["ENABLE CONDSTORE UTF8=ACCEPT", "UID FETCH 1:* (MODSEQ)"], "* OK [HIGHESTMODSEQ" },
        { "SORT with an unknown criterion", ["SORT (BOGUS) UTF-8 ALL"], "t3 BAD" },
        { "THREAD with an unknown algorithm", ["THREAD BOGUS UTF-8 ALL"], "t3 BAD" },
        { "CHECK", ["CHECK"], "t3 OK" },
        { "UNSELECT", ["UNSELECT", "FETCH 1 FLAGS"], "t4 BAD No mailbox selected" },
        { "EXPUNGE of an empty mailbox", ["EXPUNGE"], "t3 OK" },
    };

    [Theory]
    [MemberData(nameof(NotAuthenticated))]
    public Task Before_login(string name, string[] commands, string expected) => RunAsync(name, commands, expected);

    [Theory]
    [MemberData(nameof(Authenticated))]
    public Task Logged_in(string name, string[] commands, string expected) => RunAsync(name, [Login, .. commands], expected);

    [Theory]
    [MemberData(nameof(Selected))]
    public Task With_an_empty_mailbox_selected(string name, string[] commands, string expected) =>
        RunAsync(name, [Login, "SELECT Empty" + name.GetHashCode().ToString("x8"), .. commands], expected, create: true);

    private async Task RunAsync(string name, string[] commands, string expected, bool create = false)
    {
        await using var imap = InMemorySession.Imap(fixture.Server.Server);
        Assert.StartsWith("* OK", await imap.GreetingAsync());
        var answer = "";
        for (var i = 0; i < commands.Length; i++)
        {
            if (create && i == 1)
            {
                await imap.CommandAsync("c0 CREATE " + commands[1]["SELECT ".Length..]); // the case's own mailbox
            }

            answer = await imap.CommandAsync($"t{i + 1} {commands[i]}");
        }

        Assert.True(answer.Contains(expected, StringComparison.Ordinal), $"{name}: '{commands[^1]}' was answered:\n{answer}");
    }
}
