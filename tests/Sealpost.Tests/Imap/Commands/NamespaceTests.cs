using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>NAMESPACE (RFC 2342): the personal namespace and "Other Users/" (mailboxes read under an access grant), separator "/".</summary>
public sealed class NamespaceTests : ImapTestBase
{
    [Fact]
    public async Task The_personal_and_other_users_namespaces()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL\r\na OK NAMESPACE completed\r\n", await raw.CommandAsync("a NAMESPACE"));
    }

    [Fact]
    public async Task Arguments_are_a_syntax_error()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("b BAD Unexpected characters at the end of the command\r\n", await raw.CommandAsync("b NAMESPACE x"));
    }

    [Fact]
    public async Task Without_a_grant_other_users_lists_nothing()
    {
        await using var raw = await LoginAsync();
        Assert.Equal("a OK LIST completed\r\n", await raw.CommandAsync("a LIST \"Other Users/\" \"*\""));
    }

    [Theory]
    [InlineData("c CREATE \"Other Users/x\"")]
    [InlineData("c SELECT \"Other Users/nobody@example.test/INBOX\"")]
    [InlineData("c DELETE \"Other Users\"")]
    public async Task Names_in_other_users_without_a_grant_are_refused(string command)
    {
        await using var raw = await LoginAsync();
        Assert.StartsWith("c NO [", await raw.CommandAsync(command));
    }
}
