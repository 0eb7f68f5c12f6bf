using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>ID (RFC 2971): the client's fields are read and ignored; ours name the product only.</summary>
public sealed class IdTests : ImapTestBase
{
    [Fact]
    public async Task Id_before_and_after_login()
    {
        await using var raw = await ImapRaw.ConnectAsync(Plain);
        await raw.GreetingAsync();
        Assert.Equal("* ID (\"name\" \"Sealpost\" \"vendor\" \"Sealpost\")\r\na OK ID completed\r\n", await raw.CommandAsync("a ID (\"name\" \"test\" \"version\" NIL)"));
        await raw.CommandAsync($"l LOGIN {Alice} {AlicePassword}");
        Assert.Equal("* ID (\"name\" \"Sealpost\" \"vendor\" \"Sealpost\")\r\nb OK ID completed\r\n", await raw.CommandAsync("b ID NIL"));
        Assert.Equal("c BAD Expected '('\r\n", await raw.CommandAsync("c ID name"));
        var tooMany = string.Join(' ', Enumerable.Range(0, 31).Select(i => $"\"k{i}\" \"v\""));
        Assert.Equal("d BAD Too many or too long ID fields\r\n", await raw.CommandAsync($"d ID ({tooMany})"));
    }
}
