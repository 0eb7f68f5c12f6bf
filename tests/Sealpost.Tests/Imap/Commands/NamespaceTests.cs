using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>NAMESPACE (RFC 2342): one personal namespace with separator "/".</summary>
public sealed class NamespaceTests : ImapTestBase
{
    [Fact]
    public async Task One_personal_namespace()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\na OK NAMESPACE completed\r\n", await raw.CommandAsync("a NAMESPACE"));
        Assert.Equal("b BAD Unexpected characters at the end of the command\r\n", await raw.CommandAsync("b NAMESPACE x"));
    }
}
