using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>AUTHENTICATE PLAIN and LOGIN with and without SASL-IR (RFC 9051 §6.2.2, RFC 4959).</summary>
public sealed class AuthenticateTests : ImapTestBase
{
    [Fact]
    public async Task Authenticate_plain_with_and_without_initial_response_and_login()
    {
        var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{Alice}\0{AlicePassword}"));
        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            Assert.StartsWith("a OK [CAPABILITY", await raw.CommandAsync("a AUTHENTICATE PLAIN " + plain));
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            await raw.SendAsync("a AUTHENTICATE PLAIN\r\n");
            Assert.Equal("+ ", await raw.LineAsync());
            await raw.SendAsync(plain + "\r\n");
            Assert.StartsWith("a OK", await raw.UntilTaggedAsync("a"));
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            await raw.SendAsync("a AUTHENTICATE LOGIN\r\n");
            Assert.Equal("+ VXNlcm5hbWU6", await raw.LineAsync());
            await raw.SendAsync(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Alice)) + "\r\n");
            Assert.Equal("+ UGFzc3dvcmQ6", await raw.LineAsync());
            await raw.SendAsync(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(AlicePassword)) + "\r\n");
            Assert.StartsWith("a OK", await raw.UntilTaggedAsync("a"));
        }

        await using (var raw = await ImapRaw.ConnectAsync(Plain))
        {
            await raw.GreetingAsync();
            await raw.SendAsync("a AUTHENTICATE PLAIN\r\n");
            await raw.LineAsync();
            await raw.SendAsync("*\r\n");
            Assert.Equal("a BAD Authentication cancelled\r\n", await raw.UntilTaggedAsync("a"));
            Assert.Equal("b NO [CANNOT] Unsupported authentication mechanism\r\n", await raw.CommandAsync("b AUTHENTICATE CRAM-MD5"));
            Assert.Equal("c BAD Response is not valid base64\r\n", await raw.CommandAsync("c AUTHENTICATE PLAIN !!!"));
        }
    }
}
