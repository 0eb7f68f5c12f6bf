using System.Text;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap;

/// <summary>
/// Mutated commands against a live session: it answers every command without "internal error" and stays
/// open. Seeded, so a failure reproduces. The pure argument parsers have their own target ("imap-command"
/// in fuzz/Sealpost.Fuzz, run by Fuzz/ParserFuzzTests and scripts/fuzz-afl.sh).
/// </summary>
public sealed class ImapFuzzTests : ImapTestBase
{
    protected override void Configure(Sealpost.Core.Configuration.SealpostOptions options) => options.Imap.MaxBadCommands = 1000;

    /// <summary>The command lines the parser fuzz target starts from ("imap-command"), sent to a live session.</summary>
    private static readonly string[] Seeds = Sealpost.Fuzz.FuzzTargets.All["imap-command"].Seeds;

    private static IEnumerable<string> Mutations(int seed, int count) =>
        Mutator.Mutations(Seeds.Select(Encoding.UTF8.GetBytes).ToList(), seed, count).Select(Encoding.UTF8.GetString);

    [Fact]
    public async Task A_session_survives_mutated_commands()
    {
        await DeliverAsync(Message("fuzz target"));
        var n = 0;
        ImapRaw? raw = null;
        try
        {
            foreach (var text in Mutations(seed: 7, count: 300))
            {
                // A long run (scripts/fuzz.sh) starts a new session before Imap:MaxBadCommands ends one.
                if (n % 500 == 0)
                {
                    if (raw is not null)
                    {
                        await raw.DisposeAsync();
                    }

                    raw = await LoginAsync();
                    await raw.CommandAsync("s SELECT INBOX");
                }

                // Literals and line ends inside a mutated command would desynchronise the transcript; keep each to one line.
                var line = text.Replace("\r", "").Replace("\n", "").Replace("\0", "").Replace("{", "(");
                var tag = "f" + n++;
                var command = tag + line[Math.Min(1, line.Length)..];
                var sent = command.Length > tag.Length && command[tag.Length] == ' ' ? command : tag + " NOOP";
                string reply;
                try
                {
                    reply = await raw!.CommandAsync(sent);
                }
                catch (EndOfStreamException)
                {
                    Assert.Fail($"the session closed on: {sent}");
                    throw;
                }

                Assert.DoesNotContain("Internal error", reply);
                Assert.DoesNotContain("* BYE", reply);
            }
        }
        finally
        {
            if (raw is not null)
            {
                await raw.DisposeAsync();
            }
        }

        Assert.DoesNotContain("IMAP session failed", Server.Logs.ToString());
    }
}
