using Sealpost.Core.Mail;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Imap.Commands;

/// <summary>GETQUOTAROOT, GETQUOTA and SETQUOTA (RFC 9208, STORAGE in KiB).</summary>
public sealed class QuotaTests : ImapTestBase
{
    [Fact]
    public async Task Quota_root_and_usage()
    {
        await DeliverAsync(Message("a", new string('x', 3000)));
        await using var raw = await LoginAsync();
        Assert.Equal("* QUOTAROOT INBOX \"\"\r\n* QUOTA \"\" (STORAGE 4 10485760)\r\na OK GETQUOTAROOT completed\r\n", await raw.CommandAsync("a GETQUOTAROOT INBOX"));
        Assert.Equal("* QUOTA \"\" (STORAGE 4 10485760)\r\nb OK GETQUOTA completed\r\n", await raw.CommandAsync("b GETQUOTA \"\""));
        Assert.Equal("c NO [NONEXISTENT] No such quota root\r\n", await raw.CommandAsync("c GETQUOTA other"));
        Assert.Equal("d NO [NONEXISTENT] No such mailbox\r\n", await raw.CommandAsync("d GETQUOTAROOT Nowhere"));
        Assert.Equal("e NO [NOPERM] Quotas are set by administrators\r\n", await raw.CommandAsync("e SETQUOTA \"\" (STORAGE 1)"));
    }
}
