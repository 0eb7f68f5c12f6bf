using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sealpost.Core.Addressing;

namespace Sealpost.Web;

/// <summary>
/// An API token limited to some domains reaches only targets in them: the domain of the address or
/// alias in the path, of <c>?domain=</c>, or of the address a create request names; requests that name
/// no domain (tenants, the queue, the audit trail, lists without <c>?domain=</c>) are refused. It narrows
/// what the roles allow, after the matrix has been applied to the token's roles; it never widens it.
/// </summary>
internal static class DomainLimit
{
    private static readonly string[] RouteKeys = ["address", "alias"];

    /// <summary>Why the request is outside the token's domains, or null.</summary>
    public static async Task<string?> RefusalAsync(HttpContext http, RouteEndpoint endpoint, IReadOnlyList<string> domains, int maxBodyBytes)
    {
        var route = endpoint.RoutePattern.RawText ?? "";
        if (route.StartsWith("/api/v1/me", StringComparison.Ordinal) || route == "/api/v1/sign-out")
        {
            return null; // one's own credentials
        }

        var named = new List<string>();
        foreach (var key in RouteKeys)
        {
            if (http.Request.RouteValues.TryGetValue(key, out var value) && value is string text)
            {
                named.Add(DomainOfAddress(text));
            }
        }

        if (route.StartsWith("/api/v1/domains/{name}", StringComparison.Ordinal) && http.Request.RouteValues.TryGetValue("name", out var name) && name is string domainText)
        {
            named.Add(DomainName.TryParse(domainText, out var d, out _) ? d.Ascii : domainText);
        }

        if (http.Request.Query.TryGetValue("domain", out var query))
        {
            named.AddRange(query.Select(q => DomainName.TryParse(q, out var d, out _) ? d.Ascii : q ?? ""));
        }

        if (HttpMethods.IsPost(http.Request.Method) && route is "/api/v1/accounts" or "/api/v1/aliases" or "/api/v1/groups")
        {
            if (await CreatedAddressAsync(http, maxBodyBytes) is { } created)
            {
                named.Add(DomainOfAddress(created));
            }
        }

        if (named.Count == 0)
        {
            return $"this token is limited to {string.Join(", ", domains)}: name one of them (lists take ?domain=)";
        }

        var outside = named.FirstOrDefault(d => !domains.Contains(d, StringComparer.Ordinal));
        return outside is null ? null : $"this token is limited to {string.Join(", ", domains)}";
    }

    private static string DomainOfAddress(string text) => MailAddress.TryParse(text, out var address, out _) ? address.Domain.Ascii : "";

    // Reads the body once, leaving it for the endpoint: the address (or alias) a create request names.
    private static async Task<string?> CreatedAddressAsync(HttpContext http, int maxBodyBytes)
    {
        if (http.Request.ContentLength > maxBodyBytes)
        {
            return null;
        }

        http.Request.EnableBuffering(maxBodyBytes);
        try
        {
            using var document = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name is "address" or "alias" && property.Value.ValueKind == JsonValueKind.String)
                {
                    return property.Value.GetString();
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            http.Request.Body.Position = 0;
        }
    }
}
