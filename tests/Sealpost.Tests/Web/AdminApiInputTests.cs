using System.Net;
using System.Text.Json;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Sealpost.Core.Access;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Web;

/// <summary>
/// Bad input to the admin API: each case gets a problem document with the right status and no
/// stack trace, and nothing is half-applied. One server for the whole table.
/// </summary>
public sealed class AdminApiInputTests : IAsyncLifetime
{
    private const string Password = "input-test-passphrase";
    private TestServer _server = null!;
    private ApiClient _api = null!;
    private string _admin = null!;
    private string _departmentAdmin = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(o => o.Http.MaxRequestBodyBytes = 4096);
        _api = new ApiClient(_server);
        _admin = (await _api.AdministratorAsync("pa@example.test", Password, Role.PlatformAdmin)).Token;
        var directory = _server.Server.Runtime.Directory;
        await directory.AddTenantAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "other", null);
        await directory.AddDomainAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "other.test", "other");
        await directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "someone@other.test", Password, null, 0);
        _departmentAdmin = (await _api.AdministratorAsync("da@example.test", Password, Role.DomainAdmin)).Token;
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _server.DisposeAsync();
    }

    public sealed record Case(string Method, string Path, string? Body, int Status, string Fragment, string ContentType = "application/json", string As = "admin");

    public static TheoryData<string, Case> Cases() => new()
    {
        { "malformed JSON", new("POST", "/api/v1/accounts", "{\"address\": ", 400, "malformed") },
        { "not an object", new("POST", "/api/v1/accounts", "null", 400, "malformed") },
        { "an unknown field", new("POST", "/api/v1/accounts", "{\"address\":\"n1@example.test\",\"password\":\"" + Password + "\",\"isAdmin\":true}", 400, "isAdmin") },
        { "a required field missing", new("POST", "/api/v1/accounts", "{\"password\":\"a long passphrase here\"}", 400, "address") },
        { "neither a password nor enrolment", new("POST", "/api/v1/accounts", "{\"address\":\"n2@example.test\"}", 422, "password") },
        { "an enrolment without its token", new("POST", "/api/v1/enrol", "{\"address\":\"n2@example.test\",\"password\":\"a long passphrase here\"}", 400, "token") },
        { "an enrolment that is not JSON", new("POST", "/api/v1/enrol", "{\"address\":", 400, "malformed") },
        { "a wrong type", new("POST", "/api/v1/accounts", "{\"address\":\"n3@example.test\",\"password\":\"" + Password + "\",\"quotaBytes\":\"lots\"}", 400, "quotaBytes") },
        { "not JSON at all", new("POST", "/api/v1/accounts", "address=x", 415, "application/json", "application/x-www-form-urlencoded") },
        { "an oversized body", new("POST", "/api/v1/accounts", "{\"address\":\"" + new string('a', 5000) + "@example.test\",\"password\":\"x\"}", 413, "at most 4096 bytes") },
        { "a bad address", new("POST", "/api/v1/accounts", "{\"address\":\"not an address\",\"password\":\"" + Password + "\"}", 422, "address") },
        { "a common password", new("POST", "/api/v1/accounts", "{\"address\":\"n4@example.test\",\"password\":\"password123\"}", 422, "password") },
        { "a taken address", new("POST", "/api/v1/accounts", "{\"address\":\"alice@example.test\",\"password\":\"" + Password + "\"}", 409, "conflict") },
        { "an out-of-scope target", new("GET", "/api/v1/accounts/someone%40other.test", null, 403, "forbidden", As: "department") },
        { "an unknown account", new("GET", "/api/v1/accounts/nobody%40example.test", null, 404, "not-found") },
        { "an unknown endpoint", new("GET", "/api/v1/nothing-here", null, 404, "not-found") },
        { "a method the endpoint lacks", new("PUT", "/api/v1/tenants", "{}", 405, "not allowed") },
        { "an unknown role", new("PUT", "/api/v1/accounts/alice%40example.test/roles/emperor", null, 400, "roles") },
        { "a change without If-Match", new("PATCH", "/api/v1/accounts/alice%40example.test", "{\"displayName\":\"A\"}", 428, "If-Match") },
        { "a change against an old version", new("PATCH", "/api/v1/accounts/alice%40example.test", "{\"displayName\":\"A\"}", 412, "changed since") },
        { "a negative quota", new("POST", "/api/v1/accounts", "{\"address\":\"n5@example.test\",\"password\":\"" + Password + "\",\"quotaBytes\":-1}", 422, "quota") },
        { "a page too large", new("GET", "/api/v1/accounts?limit=100000", null, 400, "limit") },
        { "a page size that is not a number", new("GET", "/api/v1/accounts?limit=lots", null, 400, "limit") },
        { "a date that is not a date", new("GET", "/api/v1/audit?since=yesterday", null, 400, "since") },
        { "a forged cursor", new("GET", "/api/v1/accounts?cursor=%25%25", null, 400, "cursor") },
        { "a bad audit action", new("GET", "/api/v1/audit?action=Everything", null, 400, "action") },
        { "no credentials", new("GET", "/api/v1/accounts", null, 401, "unauthenticated", As: "nobody") },
        { "a made-up token", new("GET", "/api/v1/accounts", null, 401, "unauthenticated", As: "forged") },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_gets_a_problem_document_with_the_right_status(string name, Case c)
    {
        var token = c.As switch
        {
            "admin" => _admin,
            "department" => _departmentAdmin,
            "forged" => "spt_" + new string('x', 43),
            _ => null,
        };
        var ifMatch = name.Contains("old version", StringComparison.Ordinal) ? "\"v0\"" : null;
        using var response = await _api.SendAsync(new HttpMethod(c.Method), c.Path, token: token, ifMatch: ifMatch, rawBody: c.Body, contentType: c.ContentType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(c.Status == (int)response.StatusCode, $"{name}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(c.Status, problem.GetProperty("status").GetInt32());
        Assert.Contains(c.Fragment, body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", body);
        Assert.DoesNotContain("Exception", body);
        Assert.DoesNotContain("Sealpost.", body);
    }

    [Fact]
    public async Task A_refused_create_leaves_nothing_behind()
    {
        using var response = await _api.SendAsync(HttpMethod.Post, "/api/v1/accounts", new { address = "half@example.test", password = "short" }, _admin);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        using var lookup = await _api.SendAsync(HttpMethod.Get, "/api/v1/accounts/half%40example.test", token: _admin);
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task An_account_change_with_the_current_etag_applies_and_returns_the_next_one()
    {
        using var read = await _api.SendAsync(HttpMethod.Get, "/api/v1/accounts/bob%40example.test", token: _admin);
        var etag = read.Headers.ETag!.ToString();
        using var changed = await _api.SendAsync(HttpMethod.Patch, "/api/v1/accounts/bob%40example.test", new { displayName = "Robert", quotaBytes = 1048576 }, _admin, etag);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag!.ToString());
        var account = JsonDocument.Parse(await changed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Robert", account.GetProperty("displayName").GetString());
        Assert.Equal(1048576, account.GetProperty("quotaBytes").GetInt64());
        // The same ETag again is a lost update: refused.
        using var stale = await _api.SendAsync(HttpMethod.Patch, "/api/v1/accounts/bob%40example.test", new { displayName = "Bobby" }, _admin, etag);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
    }

    [Fact]
    public async Task Account_pages_follow_the_cursor_to_the_end_without_repeats()
    {
        for (var i = 0; i < 7; i++)
        {
            await _api.JsonAsync(HttpMethod.Post, "/api/v1/accounts", new { address = $"page{i}@example.test", password = Password }, _admin, HttpStatusCode.Created);
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _api.JsonAsync(HttpMethod.Get, "/api/v1/accounts?domain=example.test&limit=3" + (cursor is null ? "" : "&cursor=" + cursor), token: _admin);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("address").GetString()!));
            cursor = page.TryGetProperty("next", out var next) ? next.GetString() : null;
            pages++;
        }
        while (cursor is not null && pages < 50);

        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Contains("page6@example.test", seen);
        Assert.Contains("alice@example.test", seen);
    }

    [Fact]
    public async Task Alias_pages_follow_the_cursor_to_the_end_without_repeats()
    {
        for (var i = 0; i < 5; i++)
        {
            await _api.JsonAsync(HttpMethod.Post, "/api/v1/aliases", new { alias = $"a{i}@example.test", target = "alice@example.test" }, _admin, HttpStatusCode.Created);
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _api.JsonAsync(HttpMethod.Get, "/api/v1/aliases?limit=2" + (cursor is null ? "" : "&cursor=" + cursor), token: _admin);
            var items = page.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("alias").GetString()!).ToList();
            Assert.True(items.Count <= 2);
            seen.AddRange(items);
            cursor = page.TryGetProperty("next", out var next) ? next.GetString() : null;
            pages++;
        }
        while (cursor is not null && pages < 20);

        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(6, seen.Count); // the five and the dev folder's postmaster@
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task The_openapi_document_is_valid_and_lists_every_api_path()
    {
        using var response = await _api.SendAsync(HttpMethod.Get, "/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
        var result = await OpenApiDocument.LoadAsync(stream, "json");
        Assert.Empty(result.Diagnostic!.Errors);
        var document = result.Document!;
        var errors = document.Validate(Microsoft.OpenApi.ValidationRuleSet.GetDefaultRuleSet())?.ToList() ?? [];
        Assert.Empty(errors);
        Assert.True(document.Components?.SecuritySchemes?.ContainsKey("bearer"), "no bearer security scheme");
        Assert.Equal("Sealpost admin API", document.Info.Title);
        foreach (var path in new[] { "/api/v1/sign-in", "/api/v1/accounts", "/api/v1/accounts/{address}", "/api/v1/me/tokens", "/api/v1/audit", "/api/v1/queue/{id}" })
        {
            Assert.True(document.Paths.ContainsKey(path), $"{path} is not in the OpenAPI document");
        }
    }
}
