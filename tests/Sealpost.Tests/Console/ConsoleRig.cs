using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Sealpost.Core.Access;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Console;

/// <summary>One server and one headless Debian chromium for a test class (each test opens its own browser context: its own cookies).</summary>
public class ConsoleRig : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>A trust anchor the officers made (null: the test rig's local officers endorse every key version at once).</summary>
    public TestOfficers? Officers { get; protected set; }

    protected virtual Task<TestServer> StartServerAsync() => TestServer.StartAsync();

    public virtual async Task InitializeAsync()
    {
        var chromium = Tools.Require("chromium");
        Server = await StartServerAsync();
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public virtual async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>The rig on a server whose trust anchor two officers signed: a reset's new key version waits for a requester and an approving officer.</summary>
public sealed class OfficersConsoleRig : ConsoleRig
{
    private TempFolder? _keys;

    protected override Task<TestServer> StartServerAsync()
    {
        _keys = new TempFolder("sealpost-console-officers");
        Officers = TestOfficers.Create(_keys.Path);
        // No delivery worker: a queued message stays as the queue test leaves it (no lease taken under its feet).
        return TestServer.StartAsync(o => o.Delivery.Enabled = false, officers: Officers);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _keys?.Dispose();
    }
}

/// <summary>A signed-in browser page and what a test needs to re-authenticate as that person.</summary>
public sealed class ConsoleUser(IPage page, string address, string password, string totpSecret)
{
    private long _lastStep = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 30; // the sign-in took the step current then

    public IPage Page { get; } = page;

    public string Address { get; } = address;

    public string Password { get; } = password;

    /// <summary>
    /// A TOTP code of a later step than any this person used, inside the server's one-step window: the
    /// next step's; if that was used already, it waits for the clock to reach the step after (a condition,
    /// at most one step of 30 s).
    /// </summary>
    public async Task<string> FreshCodeAsync()
    {
        while (true)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (now / 30 + 1 > _lastStep)
            {
                _lastStep = now / 30 + 1;
                return new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(totpSecret)).ComputeTotp(DateTimeOffset.FromUnixTimeSeconds(_lastStep * 30).UtcDateTime);
            }

            await Task.Delay(TimeSpan.FromSeconds(30 - now % 30 + 0.2));
        }
    }
}

/// <summary>What the console's browser tests share: pages, sign-in as a user or an administrator, accessibility checks.</summary>
public abstract class ConsoleTestBase(ConsoleRig rig)
{
    protected TestServer Server => rig.Server;

    protected ConsoleRig Rig => rig;

    protected static Actor LocalAdministrator => Sealpost.Server.SealpostRuntime.LocalAdministrator;

    protected string Url(string path) => new Uri(rig.Server.Https, path).ToString();

    protected async Task<IPage> PageAsync(string locale = "en-GB")
    {
        var context = await rig.Browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, Locale = locale, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(60_000); // two cores shared with the rest of the suite: a bound, not a guess at speed
        return page;
    }

    /// <summary>A browser whose session cookie is an administrator's (signed in with password and TOTP over the API).</summary>
    protected async Task<IPage> AdministratorAsync(string address, Role role, string? language = null) => (await AdministratorUserAsync(address, [role], language)).Page;

    /// <summary>A browser of an administrator holding several roles (one account, one sign-in).</summary>
    protected async Task<IPage> AdministratorAsync(string address, Role[] roles, string? language = null) => (await AdministratorUserAsync(address, roles, language)).Page;

    protected Task<ConsoleUser> AdministratorUserAsync(string address, Role role, string? language = null) => AdministratorUserAsync(address, [role], language);

    /// <summary>
    /// An administrator as a real one becomes one (TOTP enrolled), signed in with the code of the current
    /// step (the enrolment took the step before), so that a re-authentication may take the next one.
    /// </summary>
    protected async Task<ConsoleUser> AdministratorUserAsync(string address, Role[] roles, string? language = null)
    {
        const string password = "an administrator's passphrase";
        using var api = new ApiClient(rig.Server);
        var (token, secret, _) = await api.AdministratorAsync(address, password, -1, 0, roles);
        var page = await PageAsync();
        await page.Context.AddCookiesAsync([new Cookie { Name = "__Host-sealpost", Value = token, Url = Url("/"), Secure = true, HttpOnly = true, SameSite = SameSiteAttribute.Strict }]);
        if (language is not null)
        {
            await page.Context.AddCookiesAsync([new Cookie { Name = "__Host-sealpost-lang", Value = $"c={language}|uic={language}", Url = Url("/"), Secure = true, HttpOnly = true }]);
        }

        return new ConsoleUser(page, address, password, secret);
    }

    /// <summary>Fills a form's re-authentication fields (named by the form's prefix) as the person.</summary>
    protected static async Task ConfirmAsync(ConsoleUser who, string form)
    {
        await who.Page.FillAsync($"#{form}-confirm-password", who.Password);
        await who.Page.FillAsync($"#{form}-confirm-code", await who.FreshCodeAsync());
    }

    /// <summary>A person's enrolment form filled and sent: the address, the token they were given, a password of their own.</summary>
    protected async Task<IPage> EnrolAsync(string address, string token, string password, IPage? page = null)
    {
        page ??= await PageAsync();
        await page.GotoAsync(Url("/console/enrol"));
        await page.FillAsync("#address", address);
        await page.FillAsync("#token", token);
        await page.FillAsync("#password", password);
        await page.ClickAsync("main button[type=submit]");
        return page;
    }

    /// <summary>
    /// Waits for the page to arrive at <paramref name="path"/> and its main element to be in the new
    /// document (what the tests read next); if it does not, the failure says where it is and what it shows.
    /// It polls the address and then the DOM instead of waiting for a load event: once, under a loaded CI run,
    /// WaitForURL's wait for DOMContentLoaded outlived the 60 s timeout on a page that was at the path and fully
    /// rendered, after a form post's redirect (and WaitForURL with Commit never returns when the page is at the
    /// address already). Every page puts its content in its main element, which the failure prints.
    /// </summary>
    protected async Task LandsOnAsync(IPage page, string path)
    {
        try
        {
            await Assertions.Expect(page).ToHaveURLAsync(Url(path), new() { Timeout = 60_000 });
            await page.Locator("main").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        }
        catch (PlaywrightException)
        {
            Assert.Fail($"expected {path}, but the page is {page.Url}: {await page.TextContentAsync("main")}");
        }
    }

    /// <summary>The serious and critical axe violations of each page, named by path.</summary>
    protected async Task<List<string>> AccessibilityProblemsAsync(IPage page, IEnumerable<string> paths)
    {
        var problems = new List<string>();
        foreach (var path in paths)
        {
            var response = await page.GotoAsync(Url(path));
            Assert.True(response!.Status == 200, $"{path}: {response.Status}");
            var result = await page.RunAxe();
            problems.AddRange(result.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{path}: {v.Id} ({v.Impact}) {v.Help}"));
        }

        return problems;
    }
}
