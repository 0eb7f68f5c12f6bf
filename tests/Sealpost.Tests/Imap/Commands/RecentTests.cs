namespace Sealpost.Tests.Imap.Commands;

/// <summary>
/// \Recent for IMAP4rev1 clients (RFC 3501 §2.3.2): a message is recent in exactly one session, the
/// first to see it; EXAMINE and STATUS look without claiming (§6.3.2, §6.3.10); IMAP4rev2 has no \Recent.
/// </summary>
public sealed class RecentTests : ImapTestBase
{
    private async Task TwoMessagesAsync()
    {
        await DeliverAsync(Message("one"));
        await DeliverAsync(Message("two"));
    }

    [Fact]
    public async Task The_first_select_sees_messages_as_recent()
    {
        await TwoMessagesAsync();
        await using var raw = await LoginAsync();
        Assert.Contains("* 2 RECENT", await raw.CommandAsync("a SELECT INBOX"));
    }

    [Fact]
    public async Task A_later_select_does_not_see_them_again()
    {
        await TwoMessagesAsync();
        await using (var first = await LoginAsync())
        {
            await first.CommandAsync("a SELECT INBOX");
        }

        await using var second = await LoginAsync();
        Assert.Contains("* 0 RECENT", await second.CommandAsync("a SELECT INBOX"));
    }

    [Fact]
    public async Task Examine_shows_recent_without_claiming_it()
    {
        await TwoMessagesAsync();
        await using var looker = await LoginAsync();
        Assert.Contains("* 2 RECENT", await looker.CommandAsync("a EXAMINE INBOX"));

        await using var owner = await LoginAsync();
        Assert.Contains("* 2 RECENT", await owner.CommandAsync("a SELECT INBOX"));
    }

    [Fact]
    public async Task Status_counts_recent_without_claiming_it()
    {
        await TwoMessagesAsync();
        await using var raw = await LoginAsync();
        Assert.Contains("(RECENT 2)", await raw.CommandAsync("a STATUS INBOX (RECENT)"));
        Assert.Contains("(RECENT 2)", await raw.CommandAsync("b STATUS INBOX (RECENT)"));
        await raw.CommandAsync("c SELECT INBOX");
        Assert.Contains("(RECENT 0)", await raw.CommandAsync("d STATUS INBOX (RECENT)"));
    }

    [Theory]
    [InlineData("RECENT", "* SEARCH 2 3")]
    [InlineData("NEW", "* SEARCH 3")]
    [InlineData("OLD", "* SEARCH 1")]
    public async Task Search_recent_new_and_old(string key, string expected)
    {
        await DeliverAsync(Message("seen before"));
        await using (var earlier = await LoginAsync())
        {
            await earlier.CommandAsync("a SELECT INBOX");
        }

        await DeliverAsync(Message("read elsewhere"), flags: Sealpost.Core.Mail.MessageFlags.Seen);
        await DeliverAsync(Message("new"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal(expected, Lines(await raw.CommandAsync($"b SEARCH {key}"))[0]);
    }

    [Fact]
    public async Task A_message_arriving_while_selected_is_recent_there_and_nowhere_else()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        await DeliverAsync(Message("arrives"));
        var update = await raw.CommandAsync("b NOOP");
        Assert.Contains("* 1 EXISTS", update);
        Assert.Contains("* 1 RECENT", update);
        Assert.Contains("\\Recent", await raw.CommandAsync("c FETCH 1 FLAGS"));

        await using var other = await LoginAsync();
        Assert.Contains("* 0 RECENT", await other.CommandAsync("a SELECT INBOX"));
    }

    [Fact]
    public async Task An_imap4rev2_session_claims_nothing()
    {
        await TwoMessagesAsync();
        await using (var rev2 = await LoginAsync())
        {
            await rev2.CommandAsync("a ENABLE IMAP4rev2");
            var selected = await rev2.CommandAsync("b SELECT INBOX");
            Assert.DoesNotContain("RECENT", selected);
            Assert.DoesNotContain("\\Recent", await rev2.CommandAsync("c FETCH 1:* FLAGS"));
        }

        await using var rev1 = await LoginAsync();
        Assert.Contains("* 2 RECENT", await rev1.CommandAsync("a SELECT INBOX"));
    }
}
