using System.Text;
using Microsoft.AspNetCore.Http;

namespace Sealpost.Web;

/// <summary>
/// Cursor pages for the lists the services return whole (tenants, domains, aliases, groups, lockouts,
/// the queue, role holders): items in key order, the page after the cursor, and the cursor of the next
/// page. The cursor is opaque to clients (the last key, base64url). Accounts and the audit trail page in
/// the store instead.
/// </summary>
internal static class Paging
{
    public static (int Limit, string? After) Read(HttpContext http, int maxPageSize)
    {
        var limit = 100;
        if (http.Request.Query.TryGetValue("limit", out var text) && (!int.TryParse(text, out limit) || limit < 1 || limit > maxPageSize))
        {
            throw ApiInputException.Field("limit", $"between 1 and {maxPageSize}");
        }

        return (limit, http.Request.Query.TryGetValue("cursor", out var cursor) ? Decode(cursor.ToString()) : null);
    }

    public static Page<T> Of<TSource, T>(IEnumerable<TSource> items, Func<TSource, string> key, Func<TSource, T> map, HttpContext http, int maxPageSize)
    {
        var (limit, after) = Read(http, maxPageSize);
        var ordered = items.OrderBy(key, StringComparer.Ordinal).Where(i => after is null || string.CompareOrdinal(key(i), after) > 0).Take(limit + 1).ToList();
        var page = ordered.Take(limit).ToList();
        return new Page<T>(page.Select(map).ToList(), ordered.Count > limit ? Encode(key(page[^1])) : null);
    }

    public static string Encode(string key) => Convert.ToBase64String(Encoding.UTF8.GetBytes(key)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Decode(string cursor)
    {
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            return Encoding.UTF8.GetString(Convert.FromBase64String(b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=')));
        }
        catch (FormatException)
        {
            throw ApiInputException.Field("cursor", "not a cursor this API gave out");
        }
    }
}
