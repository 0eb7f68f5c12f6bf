namespace Sealpost.Tests.Imap.Commands;

/// <summary>
/// SORT by address (RFC 5256 §3, RFC 5957) with groups and addresses without a domain: the first
/// address as ENVELOPE lists it is the key, so a group sorts by its name and "d" by its local part.
/// </summary>
public sealed class SortAddressTests : ImapTestBase
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await DeliverAsync("From: zed@example.org\r\nCc: m@x.org\r\nSubject: 1\r\n\r\nx\r\n");
        await DeliverAsync("From: Team: a@b.example;\r\nCc: Aaa: q@r.example;\r\nSubject: 2\r\n\r\nx\r\n");
        await DeliverAsync("From: d\r\nSubject: 3\r\n\r\nx\r\n");
        await DeliverAsync("From: Alpha <zzz@x.org>\r\nSubject: 4\r\n\r\nx\r\n");
    }

    [Theory]
    [InlineData("(FROM)", "3 2 1 4")] // d, Team, zed, zzz
    [InlineData("(DISPLAYFROM)", "4 3 2 1")] // Alpha, d, Team, zed@example.org
    [InlineData("(CC)", "3 4 2 1")] // none, none, Aaa, m
    public async Task Sort_by_address(string criteria, string expected)
    {
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a SELECT INBOX");
        Assert.Equal($"* SORT {expected}\r\nb OK SORT completed\r\n", await raw.CommandAsync($"b SORT {criteria} UTF-8 ALL"));
    }
}
