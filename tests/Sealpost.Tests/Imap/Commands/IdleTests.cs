using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>IDLE (RFC 2177): continuation, pushed updates, DONE; anything else ends it with BAD.</summary>
public sealed class IdleTests : ImapTestBase
{
    [Fact]
    public async Task Idle_pushes_changes_until_done()
    {
        await DeliverAsync(Message("first"));
        await using var raw = await LoginAsync();
        await raw.CommandAsync("a ENABLE IMAP4rev2");
        await raw.CommandAsync("b SELECT INBOX");
        await raw.SendAsync("c IDLE\r\n");
        Assert.Equal("+ idling", await raw.LineAsync());
        await DeliverAsync(Message("second"));
        Assert.Equal("* 2 EXISTS", await raw.LineAsync());
        await using (var other = await LoginAsync())
        {
            await other.CommandAsync("o1 SELECT INBOX");
            await other.CommandAsync("o2 STORE 1 +FLAGS (\\Flagged)");
            Assert.Equal("* 1 FETCH (UID 1 FLAGS (\\Flagged))", await raw.LineAsync());
            await other.CommandAsync("o3 STORE 2 +FLAGS.SILENT (\\Deleted)");
            await other.CommandAsync("o4 EXPUNGE");
            Assert.Equal("* 2 FETCH (UID 2 FLAGS (\\Deleted))", await raw.LineAsync());
            Assert.Equal("* 2 EXPUNGE", await raw.LineAsync());
        }

        await raw.SendAsync("DONE\r\n");
        Assert.Equal("c OK IDLE terminated\r\n", await raw.UntilTaggedAsync("c"));
        await raw.SendAsync("d IDLE\r\n");
        Assert.Equal("+ idling", await raw.LineAsync());
        await raw.SendAsync("NOT-DONE\r\n");
        Assert.Equal("d BAD Expected DONE\r\n", await raw.UntilTaggedAsync("d"));
        Assert.Equal("e OK NOOP completed\r\n", await raw.CommandAsync("e NOOP"));
    }
}
