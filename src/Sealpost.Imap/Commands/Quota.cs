using Sealpost.Imap.Protocol;

namespace Sealpost.Imap;

// QUOTA (RFC 9208) with the STORAGE resource: one quota root "" per account. Quotas are set by admins, not over IMAP.
public sealed partial class ImapSession
{
    private async Task<After> GetQuotaRootAsync(string tag, MailboxArgument argument, CancellationToken ct)
    {
        var name = MailboxName(argument);
        await RequireMailboxAsync(name, ct);
        Send(new QuotaRootResponse(name, [""]));
        Send(await QuotaLineAsync(ct));
        Ok(tag, "GETQUOTAROOT completed");
        return After.Next;
    }

    private async Task<After> GetQuotaAsync(string tag, QuotaRootArguments arguments, CancellationToken ct)
    {
        var root = arguments.Root;
        if (root.Length != 0)
        {
            throw No("No such quota root", ResponseCode.NonExistent);
        }

        Send(await QuotaLineAsync(ct));
        Ok(tag, "GETQUOTA completed");
        return After.Next;
    }

    /// <summary>RFC 9208 §4.1.4 lets a server refuse SETQUOTA; quotas here are an administrator's decision (CLI, API).</summary>
    private static Task<After> SetQuotaAsync() => throw No("Quotas are set by administrators", ResponseCode.NoPerm);

    private async Task<QuotaResponse> QuotaLineAsync(CancellationToken ct)
    {
        var usage = await _mail!.GetUsageAsync(ct);
        var account = await _mail!.GetAccountAsync(ct);
        // RFC 9208 §5.1: STORAGE is in units of 1024 octets.
        return new QuotaResponse("", account.HasQuota ? [("STORAGE", (ulong)(usage.Bytes + 1023) / 1024, (ulong)account.QuotaBytes / 1024)] : []);
    }
}
