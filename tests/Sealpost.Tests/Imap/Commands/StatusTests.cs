using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>STATUS (RFC 9051 §6.3.11) and GETQUOTAROOT/GETQUOTA (RFC 9208).</summary>
public sealed class StatusTests : ImapTestBase
{
    [Fact]
    public async Task Status_and_quota()
    {
        await DeliverAsync(Message("a"), flags: Sealpost.Core.Mail.MessageFlags.Seen | Sealpost.Core.Mail.MessageFlags.Deleted);
        await DeliverAsync(Message("b"));
        await using var raw = await LoginAsync();
        var status = await raw.CommandAsync("a STATUS INBOX (MESSAGES UIDNEXT UNSEEN DELETED SIZE APPENDLIMIT)");
        Assert.Matches(@"^\* STATUS INBOX \(MESSAGES 2 UIDNEXT 3 UNSEEN 1 DELETED 1 SIZE \d+ APPENDLIMIT 52428800\)\r\na OK STATUS completed\r\n$", status);
        Assert.Equal("b BAD Unknown STATUS item BOGUS\r\n", await raw.CommandAsync("b STATUS INBOX (BOGUS)"));
        Assert.Equal("c NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("c STATUS Nowhere (MESSAGES)"));
        Assert.Matches(@"^\* QUOTAROOT INBOX """"\r\n\* QUOTA """" \(STORAGE 1 10485760\)\r\nd OK GETQUOTAROOT completed\r\n$", await raw.CommandAsync("d GETQUOTAROOT INBOX"));
        Assert.Matches(@"^\* QUOTA """" \(STORAGE 1 10485760\)\r\ne OK GETQUOTA completed\r\n$", await raw.CommandAsync("e GETQUOTA \"\""));
        Assert.Equal("f NO [NOPERM] Quotas are set by administrators\r\n", await raw.CommandAsync("f SETQUOTA \"\" (STORAGE 1)"));
    }
}
