using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Sealpost.Web.Endpoints;

/// <summary>
/// Client auto-configuration on the HTTPS listener, answered to anyone for the domains hosted here:
/// Thunderbird's autoconfig (at <c>/.well-known/autoconfig/...</c> and, for <c>autoconfig.DOMAIN</c>,
/// <c>/mail/config-v1.1.xml</c>), Outlook's Autodiscover POX, and the MTA-STS policy (RFC 8461) for
/// <c>mta-sts.DOMAIN</c>. A domain not hosted here is 404 (autoconfig, MTA-STS) or an Autodiscover error
/// answer; nothing else is revealed.
/// </summary>
internal static class ClientConfigEndpoints
{
    private const int MaxAutodiscoverBytes = 16 * 1024;

    public static void Map(IEndpointRouteBuilder app, ApiContext ctx)
    {
        Func<HttpContext, Task<IResult>> thunderbird = http => ThunderbirdAsync(http, ctx);
        app.MapGet("/.well-known/autoconfig/mail/config-v1.1.xml", thunderbird);
        app.MapGet("/mail/config-v1.1.xml", thunderbird);
        // Routes match without case: this is also Outlook's /Autodiscover/Autodiscover.xml.
        app.MapPost("/autodiscover/autodiscover.xml", (Func<HttpContext, Task<IResult>>)(http => AutodiscoverAsync(http, ctx)));
        app.MapGet("/.well-known/mta-sts.txt", (Func<HttpContext, Task<IResult>>)(http => MtaStsAsync(http, ctx)));
    }

    /// <summary>RFC 8461 §3.3: the policy is fetched from https://mta-sts.DOMAIN/.well-known/mta-sts.txt, as text/plain.</summary>
    private static async Task<IResult> MtaStsAsync(HttpContext http, ApiContext ctx)
    {
        var host = http.Request.Host.Host;
        var domain = host.StartsWith("mta-sts.", StringComparison.OrdinalIgnoreCase) ? host["mta-sts.".Length..] : "";
        var hosted = domain.Length == 0 ? null : await ctx.Directory.HostedDomainAsync(http.ClientActor(), domain, http.RequestAborted);
        return hosted is null
            ? Results.NotFound()
            : Results.Text(ctx.Dkim.MtaSts.Text(ctx.Hostname), "text/plain", Encoding.UTF8);
    }

    private static async Task<IResult> ThunderbirdAsync(HttpContext http, ApiContext ctx)
    {
        // The address Thunderbird passes (emailaddress=), else the host it asked (autoconfig.DOMAIN).
        var address = http.Request.Query["emailaddress"].ToString();
        var domain = address.Contains('@', StringComparison.Ordinal) ? address[(address.LastIndexOf('@') + 1)..]
            : http.Request.Host.Host.StartsWith("autoconfig.", StringComparison.OrdinalIgnoreCase) ? http.Request.Host.Host["autoconfig.".Length..] : "";
        var hosted = domain.Length == 0 ? null : await ctx.Directory.HostedDomainAsync(http.ClientActor(), domain, http.RequestAborted);
        return hosted is null
            ? Results.NotFound()
            : Results.Text(ClientConfig.Thunderbird(hosted.Ascii, ctx.Hostname), "application/xml", Encoding.UTF8);
    }

    private static async Task<IResult> AutodiscoverAsync(HttpContext http, ApiContext ctx)
    {
        var buffer = new byte[MaxAutodiscoverBytes + 1];
        var length = 0;
        int read;
        while (length <= MaxAutodiscoverBytes && (read = await http.Request.Body.ReadAsync(buffer.AsMemory(length), http.RequestAborted)) > 0)
        {
            length += read;
        }

        var address = length > MaxAutodiscoverBytes ? null : ClientConfig.AutodiscoverAddress(Encoding.UTF8.GetString(buffer, 0, length));
        var domain = address is not null && address.Contains('@', StringComparison.Ordinal) ? address[(address.LastIndexOf('@') + 1)..] : null;
        var hosted = domain is null ? null : await ctx.Directory.HostedDomainAsync(http.ClientActor(), domain, http.RequestAborted);
        return hosted is null
            ? Results.Text(ClientConfig.AutodiscoverError(address is null ? "the request is not an Autodiscover request" : "this address is not hosted here"), "application/xml", Encoding.UTF8)
            : Results.Text(ClientConfig.Autodiscover(address!, ctx.Hostname), "application/xml", Encoding.UTF8);
    }
}
