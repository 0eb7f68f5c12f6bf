using System.Net;
using Deque.AxeCore.Playwright;
using MailKit.Net.Imap;
using MailKit.Security;
using Microsoft.Playwright;
using Sealpost.Core.Access;
using Sealpost.Imap;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Console;

/// <summary>
/// The web console in a real browser (Debian chromium driven by Playwright) against a real server:
/// sign-in, an app password made in the console and used from IMAP, the operator's queue and a user's
/// 403, both languages with no missing word, no serious accessibility violation (axe), and the
/// security headers and anti-forgery tokens.
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleRig rig) : ConsoleTestBase(rig), IClassFixture<ConsoleRig>
{
    private const string Alice = "alice@example.test";
    private const string AlicePassword = "alice-dev-password";
    private static readonly string[] UserPages = ["/console", "/console/password", "/console/app-passwords", "/console/security", "/console/totp", "/console/sign-out"];
    private static readonly string[] AccountPages = ["/console/accounts", "/console/accounts/alice%40example.test", "/console/addresses"];
    private TestServer _server => Server;

    /// <summary>Every administrative role, held by one account: it reaches every page of the console.</summary>
    private static readonly Role[] EveryRole = [Role.DomainAdmin, Role.PlatformAdmin, Role.Operator, Role.SecurityOfficer, Role.Auditor];

    /// <summary>The pages the administrative roles work on (beyond those every signed-in person has).</summary>
    private static readonly string[] AdministrationPages =
    [
        "/console", "/console/accounts", "/console/accounts/alice%40example.test", "/console/addresses", "/console/lockouts", "/console/domains",
        "/console/domains/example.test", "/console/policies", "/console/health", "/console/queue", "/console/officers", "/console/audit",
    ];

    private static Sealpost.Core.Access.Actor SealpostRuntimeAdmin => LocalAdministrator;

    private async Task<IPage> SignedInAsync(string locale = "en-GB")
    {
        var page = await PageAsync(locale);
        await page.GotoAsync(Url("/console/sign-in"));
        await page.FillAsync("#address", Alice);
        await page.FillAsync("#password", AlicePassword);
        await page.ClickAsync("main button[type=submit]");
        await LandsOnAsync(page, "/console");
        return page;
    }

    [Fact]
    public async Task An_app_password_made_in_the_console_signs_in_over_imap()
    {
        var page = await SignedInAsync();
        await page.GotoAsync(Url("/console/app-passwords"));
        await page.FillAsync("#label", "phone");
        await page.FillAsync("#password", AlicePassword);
        await page.ClickAsync("text=Make it");
        var secret = (await page.TextContentAsync("#secret"))!.Trim();

        using var imap = new ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", _server.Server.ImapEndpoint(ImapListenerKind.ImplicitTls).Port, SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync(Alice, secret);
        Assert.True(imap.IsAuthenticated);
        Assert.Contains("phone", await page.TextContentAsync("table"));
    }

    [Fact]
    public async Task A_new_person_enrols_with_the_token_and_signs_in_with_their_own_password()
    {
        var (_, token, _) = await _server.Server.Runtime.Directory.AddUserForEnrolmentAsync(SealpostRuntimeAdmin, "newcomer@example.test", null, 0);
        var page = await EnrolAsync("newcomer@example.test", token, "the newcomer's very own passphrase");
        Assert.Contains("You are enrolled", await page.TextContentAsync("#enrolled"));
        await page.ClickAsync("a[href='/console/sign-in']");
        await page.FillAsync("#address", "newcomer@example.test");
        await page.FillAsync("#password", "the newcomer's very own passphrase");
        await page.ClickAsync("main button[type=submit]");
        await LandsOnAsync(page, "/console");
        Assert.Contains("newcomer@example.test", await page.TextContentAsync("main"));
    }

    [Fact]
    public async Task A_wrong_enrolment_token_is_told_next_to_the_field()
    {
        await _server.Server.Runtime.Directory.AddUserForEnrolmentAsync(SealpostRuntimeAdmin, "guesser@example.test", null, 0);
        var page = await EnrolAsync("guesser@example.test", "not-the-token", "a passphrase of my own");
        Assert.False(string.IsNullOrWhiteSpace(await page.TextContentAsync("#password-error")));
        Assert.Equal(0, await page.Locator("#enrolled").CountAsync());
    }

    [Fact]
    public async Task The_notify_address_is_kept_and_an_address_of_ours_is_refused_at_the_field()
    {
        var page = await SignedInAsync();
        await page.GotoAsync(Url("/console/security"));
        await page.FillAsync("#notify", "bob@example.test");
        await page.ClickAsync("text=Save");
        Assert.Contains("outside this mail system", await page.TextContentAsync("#notify-error"));
        await page.FillAsync("#notify", "alice.home@elsewhere.test");
        await page.ClickAsync("text=Save");
        Assert.Equal("alice.home@elsewhere.test", await page.InputValueAsync("#notify"));
        Assert.Contains("succeeded", await page.TextContentAsync("table"));
    }

    [Fact]
    public async Task A_wrong_password_is_told_next_to_the_form_and_signs_nobody_in()
    {
        var page = await PageAsync();
        await page.GotoAsync(Url("/console/sign-in"));
        await page.FillAsync("#address", Alice);
        await page.FillAsync("#password", "not the password");
        await page.ClickAsync("main button[type=submit]");
        Assert.Equal("Wrong address, password or code.", (await page.TextContentAsync("[role=alert]"))!.Trim());
        await page.GotoAsync(Url("/console"));
        Assert.EndsWith("/console/sign-in", page.Url);
    }

    [Fact]
    public async Task An_account_that_does_not_exist_is_a_404_page_without_a_trace()
    {
        var admin = await AdministratorAsync("platform2@example.test", Role.PlatformAdmin);
        var response = await admin.GotoAsync(Url("/console/accounts/nobody%40example.test"));
        Assert.Equal(404, response!.Status);
        Assert.Equal("Not found", (await admin.TextContentAsync("h1"))!.Trim());
        Assert.DoesNotContain(" at Sealpost.", await admin.ContentAsync());
    }

    [Fact]
    public async Task A_user_gets_403_on_the_queue()
    {
        var page = await SignedInAsync();
        var response = await page.GotoAsync(Url("/console/queue"));
        Assert.Equal(403, response!.Status);
        Assert.Contains("Not permitted", await page.TextContentAsync("h1"));
    }

    [Fact]
    public async Task An_operator_sees_the_queue_and_gets_403_on_the_audit_trail()
    {
        var page = await AdministratorAsync("ops@example.test", Role.Operator);
        Assert.Equal(200, (await page.GotoAsync(Url("/console/queue")))!.Status);
        Assert.Contains("The queue is empty.", await page.ContentAsync());
        Assert.Equal(403, (await page.GotoAsync(Url("/console/audit")))!.Status);
    }

    [Fact]
    public async Task A_department_administrator_makes_an_account_for_enrolment_and_the_person_enrols_with_the_token()
    {
        var admin = await AdministratorAsync("deptadmin@example.test", Role.DomainAdmin);
        await admin.GotoAsync(Url("/console/accounts"));
        await admin.FillAsync("#new-address", "recruit@example.test");
        await admin.ClickAsync("text=Create");
        var token = (await admin.TextContentAsync("#token"))!.Trim();
        Assert.Contains("recruit@example.test", await admin.TextContentAsync("table"));

        var person = await EnrolAsync("recruit@example.test", token, "the recruit's own passphrase");
        Assert.Contains("You are enrolled", await person.TextContentAsync("#enrolled"));
    }

    [Fact]
    public async Task An_administrator_suspends_an_account_and_its_state_shows()
    {
        await _server.Server.Runtime.Directory.AddUserAsync(SealpostRuntimeAdmin, "leaving@example.test", "leaving's passphrase", null, 0);
        var admin = await AdministratorAsync("platform@example.test", Role.PlatformAdmin);
        await admin.GotoAsync(Url("/console/accounts/leaving%40example.test"));
        await admin.ClickAsync("text=Suspend");
        Assert.Equal("suspended", (await admin.TextContentAsync("#state"))!.Trim());
    }

    [Fact]
    public async Task An_operator_posting_an_accounts_form_gets_403_and_changes_nothing()
    {
        await _server.Server.Runtime.Directory.AddUserAsync(SealpostRuntimeAdmin, "kept@example.test", "kept's passphrase", null, 0);
        var page = await AdministratorAsync("ops2@example.test", Role.Operator);
        await page.GotoAsync(Url("/console/queue"));
        // A valid anti-forgery token of the operator's own session (from a page they may see): only the matrix stands in the way.
        var csrf = await page.GetAttributeAsync("header form input[name=__csrf]", "value");
        var response = await page.APIRequest.PostAsync(Url("/console/accounts/kept%40example.test?handler=State"),
            new() { Form = page.APIRequest.CreateFormData().Set("__csrf", csrf!).Set("Suspend", "true"), MaxRedirects = 0 });
        Assert.Equal(403, response.Status);
        Assert.Equal(Sealpost.Core.Directory.AccountState.Active, (await _server.Server.Runtime.Store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse("kept@example.test")))!.State);
    }

    [Fact]
    public async Task An_administrator_without_totp_reaches_only_its_enrolment_and_enrols_in_the_console()
    {
        await _server.Server.Runtime.Directory.AddUserAsync(SealpostRuntimeAdmin, "newadmin@example.test", "newadmin's passphrase", null, 0);
        await _server.Server.Runtime.Directory.GrantRoleAsync(SealpostRuntimeAdmin, "newadmin@example.test", Role.DomainAdmin);
        var page = await PageAsync();
        await SignInAsync(page, "newadmin@example.test", "newadmin's passphrase");
        await LandsOnAsync(page, "/console/totp");
        await page.GotoAsync(Url("/console/accounts"));
        Assert.EndsWith("/console/totp", page.Url); // a password-only session of an administrator does nothing else

        await page.ClickAsync("text=Set up an authenticator");
        var secret = (await page.TextContentAsync("#totp-secret"))!.Trim();
        var confirmedStep = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 30;
        await page.FillAsync("#code", ApiClient.CurrentCode(secret));
        await page.ClickAsync("text=Confirm");
        Assert.Equal(10, await page.Locator("#recovery-codes li").CountAsync());

        // A code is good once: the sign-in takes a later step than the confirmation's, inside the window.
        var code = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 30 > confirmedStep ? ApiClient.CurrentCode(secret) : ApiClient.NextCode(secret);
        await SignInAsync(page, "newadmin@example.test", "newadmin's passphrase", code);
        await LandsOnAsync(page, "/console");

        Assert.Equal(200, (await page.GotoAsync(Url("/console/accounts")))!.Status);
    }

    private async Task SignInAsync(IPage page, string address, string password, string? code = null)
    {
        await page.GotoAsync(Url("/console/sign-in"));
        await page.FillAsync("#address", address);
        await page.FillAsync("#password", password);
        if (code is not null)
        {
            await page.FillAsync("#code", code);
        }

        await page.ClickAsync("main button[type=submit]");
    }

    [Fact]
    public async Task An_officer_sees_a_requested_grant_with_the_command_that_approves_it()
    {
        await _server.Server.Runtime.Directory.AddUserAsync(SealpostRuntimeAdmin, "investigator@example.test", "investigator's passphrase", null, 0);
        var grant = await _server.Server.Runtime.AccessGrants.RequestAsync(SealpostRuntimeAdmin, "investigator@example.test", Alice, "case 2026-200: an ordered review", null, DateTimeOffset.UtcNow.AddDays(1));
        var officer = await AdministratorAsync("officer@example.test", Role.SecurityOfficer);
        Assert.Equal(200, (await officer.GotoAsync(Url("/console/officers")))!.Status);
        var grants = await officer.TextContentAsync("#grants");
        Assert.Contains("investigator@example.test reads alice@example.test", grants);
        Assert.Contains($"sealpost grants approve {grant.Id} --key YOUR.key", grants);
        var axe = await officer.RunAxe();
        Assert.DoesNotContain(axe.Violations, v => v.Impact is "serious" or "critical");
    }

    [Fact]
    public async Task A_user_gets_403_on_the_officers_page()
    {
        var page = await SignedInAsync();
        Assert.Equal(403, (await page.GotoAsync(Url("/console/officers")))!.Status);
    }

    [Fact]
    public async Task An_auditor_verifies_the_chain()
    {
        var page = await AdministratorAsync("auditor@example.test", Role.Auditor);
        await page.GotoAsync(Url("/console/audit"));
        await page.ClickAsync("text=Verify the chain");
        Assert.StartsWith("The chain verifies:", (await page.TextContentAsync("#verification"))!.Trim());
    }

    [Theory]
    [InlineData("en-GB", "Sign in")]
    [InlineData("zh-TW", "登入")]
    public async Task Every_page_is_in_the_browsers_language_with_no_missing_word(string locale, string signIn)
    {
        var page = await PageAsync(locale);
        await page.GotoAsync(Url("/console/sign-in"));
        Assert.Equal(signIn, (await page.TextContentAsync("h1"))!.Trim());
        await page.FillAsync("#address", Alice);
        await page.FillAsync("#password", AlicePassword);
        await page.ClickAsync("main button[type=submit]");
        await LandsOnAsync(page, "/console");
        foreach (var path in UserPages)
        {
            await page.GotoAsync(Url(path));
            Assert.DoesNotContain("⟦", await page.ContentAsync());
        }
    }

    [Theory]
    [InlineData("en")]
    [InlineData("zh-Hant")]
    public async Task Every_administration_page_is_in_its_language_with_no_missing_word(string language)
    {
        var page = await AdministratorAsync($"words-{language.ToLowerInvariant()}@example.test", EveryRole, language);
        foreach (var path in AdministrationPages)
        {
            var response = await page.GotoAsync(Url(path));
            Assert.True(response!.Status == 200, $"{path}: {response.Status}");
            Assert.Equal(language, await page.GetAttributeAsync("html", "lang"));
            var html = await page.ContentAsync();
            var missing = html.IndexOf('⟦');
            Assert.True(missing < 0, missing < 0 ? "" : $"{path} misses a word: {html[missing..Math.Min(html.Length, missing + 60)]}");
        }
    }

    [Fact]
    public async Task No_administration_page_has_a_serious_or_critical_accessibility_violation()
    {
        var page = await AdministratorAsync("axe-admin@example.test", EveryRole);
        var problems = await AccessibilityProblemsAsync(page, AdministrationPages);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task The_language_switch_changes_the_page_and_stays()
    {
        var page = await SignedInAsync();
        await page.ClickAsync("text=繁體中文");
        Assert.Equal("Sealpost 管理主控台", (await page.TextContentAsync("h1"))!.Trim());
        await page.GotoAsync(Url("/console/app-passwords"));
        Assert.Equal("應用程式密碼", (await page.TextContentAsync("h1"))!.Trim());
    }

    [Fact]
    public async Task No_page_has_a_serious_or_critical_accessibility_violation()
    {
        var page = await SignedInAsync();
        var problems = new List<string>();
        foreach (var path in UserPages.Append("/console/sign-in").Append("/console/enrol"))
        {
            if (path == "/console/sign-in")
            {
                page = await PageAsync();
            }

            await page.GotoAsync(Url(path));
            var result = await page.RunAxe();
            problems.AddRange(result.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{path}: {v.Id} ({v.Impact}) {v.Help}"));
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Pages_refuse_to_be_framed_and_allow_no_inline_script()
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        using var response = await http.GetAsync(Url("/console/sign-in"));
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Contains("max-age=", response.Headers.GetValues("Strict-Transport-Security").Single());
    }

    [Fact]
    public async Task A_form_posted_without_the_anti_forgery_token_is_refused()
    {
        var page = await SignedInAsync();
        var cookie = (await page.Context.CookiesAsync()).Single(c => c.Name == "__Host-sealpost");
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true, UseCookies = false };
        using var http = new HttpClient(handler);
        using var post = new HttpRequestMessage(HttpMethod.Post, Url("/console/app-passwords"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["Label"] = "forged", ["Password"] = AlicePassword }),
        };
        post.Headers.Add("Cookie", $"__Host-sealpost={cookie.Value}");
        using var response = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await _server.Server.Runtime.Store.Directory.ListCredentialsAsync((await _server.Server.Runtime.Store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse(Alice)))!.Id)
            .ContinueWith(t => t.Result.Where(c => c.Label == "forged").ToList()));
    }

    [Fact]
    public async Task Each_roles_main_page_is_captured_in_both_languages()
    {
        // Written to docs/console/ when SEALPOST_CONSOLE_SCREENSHOTS names that folder (scripts/console-screenshots.sh).
        var folder = Environment.GetEnvironmentVariable("SEALPOST_CONSOLE_SCREENSHOTS") is { Length: > 0 } target ? target : Path.Combine(Path.GetTempPath(), "sealpost-console-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var shots = new List<string>();
        foreach (var (locale, language) in new[] { ("en-GB", "en"), ("zh-TW", "zh-Hant") })
        {
            var user = await SignedInAsync(locale);
            await user.GotoAsync(Url("/console/app-passwords"));
            shots.Add(await ShotAsync(user, folder, $"user-{language}.png"));
            foreach (var (role, path, name) in new[]
            {
                (Role.DomainAdmin, "/console/accounts", "domain-admin"), (Role.PlatformAdmin, "/console/domains", "platform-admin"), (Role.Operator, "/console/health", "operator"),
                (Role.SecurityOfficer, "/console/officers", "officer"), (Role.Auditor, "/console/audit", "auditor"),
            })
            {
                var admin = await AdministratorAsync($"shot-{name}-{language.ToLowerInvariant()}@example.test", role, language);
                await admin.GotoAsync(Url(path));
                shots.Add(await ShotAsync(admin, folder, $"{name}-{language}.png"));
            }
        }

        Assert.All(shots, s => Assert.True(new FileInfo(s).Length > 1000, s));
    }

    private static async Task<string> ShotAsync(IPage page, string folder, string name)
    {
        var path = Path.Combine(folder, name);
        // The top of the page at a desktop size: what a reader sees first (a long audit page is not a 1 MB picture).
        await page.SetViewportSizeAsync(1280, 1100);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = false });
        return path;
    }
}
