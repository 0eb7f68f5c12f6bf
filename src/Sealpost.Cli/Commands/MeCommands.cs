using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sealpost.Core;
using Spectre.Console;

namespace Sealpost.Cli.Commands;

/// <summary>
/// <c>sealpost me</c>: what a signed-in person does with their own account through the server's API:
/// their password, app passwords, API tokens and recent logins. Secrets are read from standard input
/// (or prompted for) and shown once; nothing here runs on the data folder.
/// </summary>
internal static class MeCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Me(CliConsole console)
    {
        var show = new Command("show", "Who you are signed in as: address, roles, second factor, session expiry");
        show.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            using var response = await ApiAdministration.SendRawAsync(http, HttpMethod.Get, "/api/v1/me", null, ct);
            var me = await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct);
            await console.Out.WriteLineAsync($"{me.GetProperty("address").GetString()} ({string.Join(", ", me.GetProperty("roles").EnumerateArray().Select(r => r.GetString()))}); "
                + $"TOTP {(me.GetProperty("secondFactorEnrolled").GetBoolean() ? "enrolled" : "not enrolled")}; {me.GetProperty("credentialKind").GetString()} until {me.GetProperty("expiresAt").GetDateTimeOffset():yyyy-MM-dd HH:mm} UTC");
        }));

        var password = new Command("password", "Change your password: standard input gives the current one, then the new one; every session ends");
        password.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            var current = console.ReadSecret("current password");
            var next = console.ReadSecret("new password");
            using var _ = await ApiAdministration.SendRawAsync(http, HttpMethod.Put, "/api/v1/me/password", new { currentPassword = current, newPassword = next }, ct);
            File.Delete(new CommandContext(parse, console).CredentialsPath);
            await console.Out.WriteLineAsync("Password changed. Every session has ended: sign in again with 'sealpost login'.");
        }));

        var label = new Option<string>("--label") { Description = "What it is for (e.g. 'phone')", Required = true };
        var add = new Command("add", "Make an app password for a mail client (your password on standard input); shown once") { label };
        add.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            var secret = console.ReadSecret("your password");
            using var response = await ApiAdministration.SendRawAsync(http, HttpMethod.Post, "/api/v1/me/app-passwords", new { label = parse.GetValue(label), password = secret }, ct);
            var made = await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct);
            await console.Out.WriteLineAsync($"App password {made.GetProperty("id").GetInt64()} '{made.GetProperty("label").GetString()}' (shown once; type it into the client):");
            await console.Out.WriteLineAsync("  " + made.GetProperty("secret").GetString());
        }));
        var appList = new Command("list", "Your app passwords: id, label, created");
        appList.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            using var response = await ApiAdministration.SendRawAsync(http, HttpMethod.Get, "/api/v1/me/app-passwords", null, ct);
            var table = new Table().AddColumns("Id", "Label", "Created", "Last used");
            foreach (var a in (await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct)).EnumerateArray())
            {
                table.AddRow(a.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture), Markup.Escape(a.GetProperty("label").GetString() ?? ""),
                    a.GetProperty("createdAt").GetDateTimeOffset().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
                    a.TryGetProperty("lastUsedAt", out var used) ? used.GetDateTimeOffset().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "never");
            }

            console.Spectre.Write(table);
        }));
        var appId = new Argument<long>("id") { Description = "From 'sealpost me app-password list'" };
        var appRevoke = new Command("revoke", "Revoke one app password; it stops working at once") { appId };
        appRevoke.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            using var _ = await ApiAdministration.SendRawAsync(http, HttpMethod.Delete, $"/api/v1/me/app-passwords/{parse.GetValue(appId)}", null, ct);
            await console.Out.WriteLineAsync($"App password {parse.GetValue(appId)} revoked.");
        }));

        var tokenLabel = new Option<string>("--label") { Description = "What the token is for", Required = true };
        var roles = new Option<string[]>("--role") { Description = "A role the token may use (some of yours; repeatable)", Required = true, AllowMultipleArgumentsPerToken = false };
        var days = new Option<int>("--days") { Description = "Lifetime in days", DefaultValueFactory = _ => 90 };
        var domains = new Option<string[]>("--domain") { Description = "Limit the token to this domain (repeatable)", AllowMultipleArgumentsPerToken = false };
        var tokenAdd = new Command("add", "Make an API token for automation; shown once") { tokenLabel, roles, days, domains };
        tokenAdd.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            using var response = await ApiAdministration.SendRawAsync(http, HttpMethod.Post, "/api/v1/me/tokens", new
            {
                label = parse.GetValue(tokenLabel),
                roles = parse.GetValue(roles),
                expiresInDays = parse.GetValue(days),
                domains = parse.GetValue(domains) is { Length: > 0 } d ? d : null,
            }, ct);
            var made = await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct);
            await console.Out.WriteLineAsync($"Token {made.GetProperty("id").GetInt64()} until {made.GetProperty("expiresAt").GetDateTimeOffset():yyyy-MM-dd} (shown once; send it as 'Authorization: Bearer TOKEN'):");
            await console.Out.WriteLineAsync("  " + made.GetProperty("secret").GetString());
        }));
        var tokenList = new Command("list", "Your live sessions and tokens: id, kind, label, roles, domains, expiry, last use");
        tokenList.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            using var response = await ApiAdministration.SendRawAsync(http, HttpMethod.Get, "/api/v1/me/tokens", null, ct);
            var table = new Table().AddColumns("Id", "Kind", "Label", "Roles", "Domains", "Expires", "Last used");
            foreach (var t in (await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct)).EnumerateArray())
            {
                table.AddRow(t.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture), t.GetProperty("kind").GetString()!, Markup.Escape(t.GetProperty("label").GetString() ?? ""),
                    string.Join(", ", t.GetProperty("roles").EnumerateArray().Select(r => r.GetString())), string.Join(", ", t.GetProperty("domains").EnumerateArray().Select(r => r.GetString())),
                    t.GetProperty("expiresAt").GetDateTimeOffset().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
                    t.TryGetProperty("lastUsedAt", out var used) ? used.GetDateTimeOffset().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "");
            }

            console.Spectre.Write(table);
        }));
        var tokenId = new Argument<long>("id") { Description = "From 'sealpost me token list'" };
        var tokenRevoke = new Command("revoke", "Revoke one session or token; it stops working at once, on every node") { tokenId };
        tokenRevoke.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            using var _ = await ApiAdministration.SendRawAsync(http, HttpMethod.Delete, $"/api/v1/me/tokens/{parse.GetValue(tokenId)}", null, ct);
            await console.Out.WriteLineAsync($"Token {parse.GetValue(tokenId)} revoked.");
        }));

        var logins = new Command("logins", "Your recent logins (IMAP, SMTP, API), newest first");
        logins.SetAction((parse, ct) => WithApiAsync(parse, console, ct, async http =>
        {
            using var response = await ApiAdministration.SendRawAsync(http, HttpMethod.Get, "/api/v1/me/logins", null, ct);
            var table = new Table().AddColumns("Time (UTC)", "Outcome", "Protocol", "From");
            foreach (var l in (await response.Content.ReadFromJsonAsync<JsonElement>(Json, ct)).EnumerateArray())
            {
                table.AddRow(l.GetProperty("time").GetDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), l.GetProperty("outcome").GetString()!,
                    l.TryGetProperty("protocol", out var p) ? p.GetString() ?? "" : "", l.TryGetProperty("remoteAddress", out var r) ? r.GetString() ?? "" : "");
            }

            console.Spectre.Write(table);
        }));

        return new Command("me", "Your own account through the server: password, app passwords, tokens, recent logins (after 'sealpost login')")
        {
            show,
            password,
            new Command("app-password", "App passwords for mail clients") { add, appList, appRevoke },
            new Command("token", "API tokens and sessions") { tokenAdd, tokenList, tokenRevoke },
            logins,
        };
    }

    private static async Task<int> WithApiAsync(ParseResult parse, CliConsole console, CancellationToken ct, Func<HttpClient, Task> action)
    {
        var context = new CommandContext(parse, console);
        var login = ApiLoginFile.Load(context.CredentialsPath)
            ?? throw new SealpostException(ErrorKind.Forbidden, "not signed in: run 'sealpost login --server https://HOST:PORT ADDRESS'");
        using var http = ApiAdministration.Client(login.Server, login.CaFile);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
        await action(http);
        return SealpostCli.Ok;
    }
}
