namespace Sealpost.Tests.Imap.Commands;

/// <summary>
/// Mailbox names and LIST patterns (RFC 3501 §5.1.3, RFC 9051 §5.1): liberal in what is looked up. A name
/// that cannot exist answers NO, a pattern that matches nothing answers OK with no LIST lines; only
/// broken syntax answers BAD.
/// </summary>
public sealed class MailboxNameTests : ImapTestBase
{
    [Theory]
    [InlineData("SELECT ~foo")]
    [InlineData("EXAMINE ~foo")]
    [InlineData("SELECT \"foo&bar\"")]
    [InlineData("SELECT \"&ACE-\"")]
    [InlineData("SELECT \"&Jjo\"")]
    [InlineData("STATUS \"foo&bar\" (MESSAGES)")]
    [InlineData("DELETE \"foo&bar\"")]
    [InlineData("RENAME \"foo&bar\" other")]
    public async Task A_name_that_cannot_exist_answers_no_nonexistent(string command)
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("a " + command));
    }

    [Theory]
    [InlineData("CREATE \"foo&bar\"")]
    [InlineData("RENAME INBOX \"foo&bar\"")]
    public async Task A_new_name_that_is_not_modified_utf7_cannot_be_made(string command)
    {
        await using var raw = await LoginAsync();
        Assert.StartsWith("a NO [CANNOT] ", await raw.CommandAsync("a " + command));
    }

    [Theory]
    [InlineData("foo&bar")]
    [InlineData("&ACE-")]
    [InlineData("~foo*")]
    [InlineData("&")]
    public async Task A_pattern_that_matches_nothing_answers_ok(string pattern)
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK LIST completed\r\n", await raw.CommandAsync($"a LIST \"\" \"{pattern}\""));
    }

    [Theory]
    [InlineData('!')]
    [InlineData('#')]
    [InlineData('$')]
    [InlineData('\'')]
    [InlineData('+')]
    [InlineData(',')]
    [InlineData(';')]
    [InlineData('<')]
    [InlineData('=')]
    [InlineData('>')]
    [InlineData('?')]
    [InlineData('@')]
    [InlineData('^')]
    [InlineData('_')]
    [InlineData('|')]
    [InlineData('[')]
    [InlineData('}')]
    [InlineData('~')]
    public async Task Printable_ascii_in_a_name_is_kept_as_it_is(char c) // and sent back as an atom (ATOM-CHAR allows every one)
    {
        var name = $"a{c}b";
        await using var raw = await LoginAsync();
        Assert.EndsWith("CREATE completed\r\n", await raw.CommandAsync($"a CREATE \"{name}\""));
        Assert.Contains($"\"/\" {name}\r\n", await raw.CommandAsync($"b LIST \"\" \"{name}\""));
        Assert.EndsWith("c OK [READ-WRITE] SELECT completed\r\n", await raw.CommandAsync($"c SELECT \"{name}\""));
    }

    [Fact]
    public async Task A_name_starting_with_a_tilde_is_an_atom()
    {
        await using var raw = await LoginAsync();
        Assert.EndsWith("CREATE completed\r\n", await raw.CommandAsync("a CREATE ~notes"));
        Assert.EndsWith("b OK [READ-WRITE] SELECT completed\r\n", await raw.CommandAsync("b SELECT ~notes"));
    }
}
