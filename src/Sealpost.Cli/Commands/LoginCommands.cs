using System.CommandLine;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Server;

namespace Sealpost.Cli.Commands;

/// <summary>
/// <c>sealpost login</c>/<c>logout</c>: sign in to a running server's admin API (password, then TOTP
/// for every role above user), so later commands run as that administrator; and
/// <c>sealpost admin bootstrap</c>, the offline first step that makes the first platform administrator.
/// </summary>
internal static class LoginCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Login(CliConsole console)
    {
        var address = new Argument<string>("address") { Description = "Your account's address" };
        var caFile = new Option<string?>("--ca-file") { Description = "Trust only this CA (or the server's own certificate), PEM; default: the system's trust store" };
        var command = new Command("login", "Sign in to a server's admin API; standard input gives the password, then the TOTP code (empty line if none)") { address, caFile };
        command.SetAction(async (parse, ct) =>
        {
            var context = new CommandContext(parse, console);
            var server = parse.GetValue(GlobalOptions.Server) ?? throw SealpostException.Invalid("login needs --server https://HOST:PORT");
            var who = MailAddress.Parse(parse.GetValue(address)!).ToString();
            var ca = parse.GetValue(caFile) is { } f ? Path.GetFullPath(f) : null;
            using var http = ApiAdministration.Client(server, ca);
            var password = console.ReadSecret("password");
            var code = ReadOptionalLine(console, "TOTP code (empty if you have none yet)");
            using var response = await ApiAdministration.SendRawAsync(http, HttpMethod.Post, "/api/v1/sign-in", new { address = who, password, code }, ct);
            var signIn = await response.Content.ReadFromJsonAsync<SignIn>(Json, ct) ?? throw SealpostException.Invalid("empty answer to sign-in");
            if (signIn.SecondFactorPassed)
            {
                ApiLoginFile.Save(context.CredentialsPath, new ApiLogin(http.BaseAddress!.ToString().TrimEnd('/'), signIn.Token, signIn.ExpiresAt, ca, who));
                await console.Out.WriteLineAsync($"Signed in to {server} as {who} until {signIn.ExpiresAt:yyyy-MM-dd HH:mm} UTC.");
                return SealpostCli.Ok;
            }

            // Roles above user need TOTP: enrol now with this session, which may do nothing else.
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", signIn.Token);
            using var begin = await ApiAdministration.SendRawAsync(http, HttpMethod.Post, "/api/v1/me/totp", null, ct);
            var enrolment = await begin.Content.ReadFromJsonAsync<Enrolment>(Json, ct) ?? throw SealpostException.Invalid("empty answer to enrolment");
            await console.Out.WriteLineAsync("Your roles need a second factor. Add this to an authenticator app (scan the URI as a QR code, or type the secret):");
            await console.Out.WriteLineAsync("  " + enrolment.Uri);
            await console.Out.WriteLineAsync("  secret: " + enrolment.Secret);
            await console.Out.FlushAsync(ct);
            var first = ReadOptionalLine(console, "the code the app shows now") ?? throw SealpostException.Invalid("enrolment needs the code the authenticator app shows");
            using var confirm = await ApiAdministration.SendRawAsync(http, HttpMethod.Post, "/api/v1/me/totp/confirm", new { code = first }, ct);
            var codes = await confirm.Content.ReadFromJsonAsync<RecoveryCodeList>(Json, ct) ?? throw SealpostException.Invalid("empty answer to confirmation");
            await console.Out.WriteLineAsync("TOTP enrolled. Recovery codes, each good for one sign-in without the app (shown once; keep them offline):");
            foreach (var c in codes.RecoveryCodes)
            {
                await console.Out.WriteLineAsync("  " + c);
            }

            await console.Out.WriteLineAsync($"Now sign in with a code: sealpost login --server {server} {who}");
            return SealpostCli.Ok;
        });
        return command;
    }

    public static Command Logout(CliConsole console)
    {
        var everywhere = new Option<bool>("--everywhere") { Description = "End every session of the account, not only this one" };
        var command = new Command("logout", "End the stored session and remove it") { everywhere };
        command.SetAction(async (parse, ct) =>
        {
            var context = new CommandContext(parse, console);
            var login = ApiLoginFile.Load(context.CredentialsPath);
            if (login is null)
            {
                await console.Out.WriteLineAsync("Not signed in.");
                return SealpostCli.Ok;
            }

            using var http = ApiAdministration.Client(login.Server, login.CaFile);
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", login.Token);
            try
            {
                using var _ = await ApiAdministration.SendRawAsync(http, HttpMethod.Post, "/api/v1/sign-out", new { everywhere = parse.GetValue(everywhere) }, ct);
            }
            finally
            {
                File.Delete(context.CredentialsPath);
            }

            await console.Out.WriteLineAsync($"Signed out of {login.Server}.");
            return SealpostCli.Ok;
        });
        return command;
    }

    public static Command Admin(CliConsole console)
    {
        var address = new Argument<string>("address") { Description = "The first platform administrator's address (its domain is added if missing)" };
        var bootstrap = new Command("bootstrap",
            "Offline, once: make the first platform administrator and print a one-time password for its first sign-in (refused once one exists)") { address };
        bootstrap.SetAction(async (parse, ct) =>
        {
            var parsed = MailAddress.Parse(parse.GetValue(address)!);
            await using var runtime = await new CommandContext(parse, console).OpenRuntimeAsync(ct);
            var oneTime = OneTimePassword();
            await runtime.Directory.BootstrapAdministratorAsync(SealpostRuntime.LocalAdministrator, parsed.ToString(), oneTime, ct);
            await console.Out.WriteLineAsync($"Made {parsed}, platform administrator. One-time password (shown once):");
            await console.Out.WriteLineAsync("  " + oneTime);
            await console.Out.WriteLineAsync($"Next: sealpost login --server https://HOST:PORT {parsed}  (enrol TOTP, sign in again, then change this password)");
            return SealpostCli.Ok;
        });
        return new Command("admin", "First-administrator bootstrap (offline, on the data folder)") { bootstrap };
    }

    private static string? ReadOptionalLine(CliConsole console, string prompt)
    {
        if (console.InputIsTerminal)
        {
            console.Out.Write(prompt + ": ");
            console.Out.Flush();
        }

        var line = console.In.ReadLine()?.Trim();
        return string.IsNullOrEmpty(line) ? null : line;
    }

    /// <summary>About 158 bits (32 of 31 symbols), in groups a person can type: a credential, so generated, never chosen.</summary>
    private static string OneTimePassword()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
        var chars = Enumerable.Range(0, 32).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]).ToArray();
        return string.Join('-', Enumerable.Range(0, 8).Select(i => new string(chars, i * 4, 4)));
    }

    private sealed record SignIn(string Token, DateTimeOffset ExpiresAt, bool SecondFactorPassed, string Next);

    private sealed record Enrolment(string Secret, string Uri, string QrSvg);

    private sealed record RecoveryCodeList(IReadOnlyList<string> RecoveryCodes);
}
