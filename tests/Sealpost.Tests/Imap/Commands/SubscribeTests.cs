using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>
/// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7-8): a subscription belongs to a name, so it may come
/// before its mailbox and outlives a deleted one, listed as \NonExistent (RFC 5258 §3.5).
/// </summary>
public sealed class SubscribeTests : ImapTestBase
{
    [Fact]
    public async Task Subscribe_and_unsubscribe()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Work");
        Assert.Equal("b OK SUBSCRIBE completed\r\n", await raw.CommandAsync("b SUBSCRIBE Work"));
        Assert.Equal("* LIST (\\HasNoChildren \\Subscribed) \"/\" Work\r\nc OK LIST completed\r\n", await raw.CommandAsync("c LIST (SUBSCRIBED) \"\" *"));
        Assert.Equal("d OK UNSUBSCRIBE completed\r\n", await raw.CommandAsync("d UNSUBSCRIBE Work"));
        Assert.Equal("e OK LIST completed\r\n", await raw.CommandAsync("e LIST (SUBSCRIBED) \"\" *"));
    }

    [Fact]
    public async Task A_name_without_a_mailbox_can_be_subscribed_and_is_listed_as_nonexistent()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK SUBSCRIBE completed\r\n", await raw.CommandAsync("a SUBSCRIBE Nowhere"));
        Assert.Equal("* LIST (\\NonExistent \\Subscribed) \"/\" Nowhere\r\nb OK LIST completed\r\n", await raw.CommandAsync("b LIST (SUBSCRIBED) \"\" *"));
    }

    [Fact]
    public async Task A_plain_list_does_not_show_a_subscribed_name_without_a_mailbox()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SUBSCRIBE Nowhere");
        Assert.DoesNotContain("Nowhere", await raw.CommandAsync("b LIST \"\" *"));
    }

    [Fact]
    public async Task A_deleted_mailbox_keeps_its_subscription()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Projects");
        await raw.CommandAsync("b SUBSCRIBE Projects");
        Assert.Equal("c OK DELETE completed\r\n", await raw.CommandAsync("c DELETE Projects"));
        Assert.Equal("* LIST (\\NonExistent \\Subscribed) \"/\" Projects\r\nd OK LIST completed\r\n", await raw.CommandAsync("d LIST (SUBSCRIBED) \"\" *"));
    }

    [Fact]
    public async Task Lsub_lists_a_subscribed_name_without_a_mailbox_as_noselect()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a CREATE Projects");
        await raw.CommandAsync("b SUBSCRIBE Projects");
        await raw.CommandAsync("c DELETE Projects");
        Assert.Equal("* LSUB (\\Noselect) \"/\" Projects\r\nd OK LSUB completed\r\n", await raw.CommandAsync("d LSUB \"\" *"));
    }

    [Fact]
    public async Task A_mailbox_made_under_a_subscribed_name_is_subscribed()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SUBSCRIBE Later");
        await raw.CommandAsync("b CREATE Later");
        Assert.Equal("* LIST (\\HasNoChildren \\Subscribed) \"/\" Later\r\nc OK LIST completed\r\n", await raw.CommandAsync("c LIST (SUBSCRIBED) \"\" *"));
    }

    [Fact]
    public async Task A_mailbox_renamed_onto_a_subscribed_name_is_subscribed()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SUBSCRIBE Archive2026");
        await raw.CommandAsync("b CREATE Drafts2026");
        await raw.CommandAsync("c RENAME Drafts2026 Archive2026");
        Assert.Equal("* LIST (\\HasNoChildren \\Subscribed) \"/\" Archive2026\r\nd OK LIST completed\r\n", await raw.CommandAsync("d LIST (SUBSCRIBED) \"\" *"));
    }

    [Fact]
    public async Task Unsubscribing_a_name_without_a_mailbox_removes_it()
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SUBSCRIBE Gone");
        Assert.Equal("b OK UNSUBSCRIBE completed\r\n", await raw.CommandAsync("b UNSUBSCRIBE Gone"));
        Assert.Equal("c OK LIST completed\r\n", await raw.CommandAsync("c LIST (SUBSCRIBED) \"\" *"));
    }

    [Fact]
    public async Task A_subscription_survives_a_new_session()
    {
        await using (var first = await LoginAsync())
        {
            await first.CommandAsync("a SUBSCRIBE Elsewhere");
        }

        await using var second = await LoginAsync();
        Assert.Contains("* LIST (\\NonExistent \\Subscribed) \"/\" Elsewhere", await second.CommandAsync("b LIST (SUBSCRIBED) \"\" *"));
    }

    [Fact]
    public async Task A_subscribed_name_without_a_mailbox_is_sealed_at_rest()
    {
        const string marker = "SubscribedMarkerQv7Zt";
        await using (var raw = await LoginAsync())
        {
            await raw.CommandAsync($"a SUBSCRIBE {marker}");
        }

        var found = new MarkerScanner([marker]).ScanTree(Server.Server.Runtime.Options.DataDirectory);
        Assert.Empty(found);
        Assert.DoesNotContain(marker, Server.Logs.ToString());
    }
}
