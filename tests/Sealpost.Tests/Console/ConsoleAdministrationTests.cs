using Microsoft.Playwright;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Crypto.Vault;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Console;

/// <summary>
/// The administrators' and officers' console in a real browser, on a server whose trust anchor two
/// officers signed: a reset requested by a department administrator and approved by an officer (each
/// signing a slip on their own machine with 'sealpost sign' and handing it in after re-authenticating),
/// grant approvals, role changes, stale edits, departments, domains and their DNS records and DKIM key,
/// aliases, the queue's hold and release, health, and the audit trail's filters and export.
/// </summary>
public sealed class ConsoleAdministrationTests(OfficersConsoleRig rig) : ConsoleTestBase(rig), IClassFixture<OfficersConsoleRig>
{
    private TestOfficers Officers => Rig.Officers!;

    private Sealpost.Server.SealpostRuntime Runtime => Server.Server.Runtime;

    /// <summary>An account whose first key version the officers endorsed (Dan asked, Bob approved), as a working account is.</summary>
    private async Task<string> EndorsedAccountAsync(string local)
    {
        var address = $"{local}@example.test";
        await Runtime.Directory.AddUserAsync(LocalAdministrator, address, local + "'s first passphrase", null, 0);
        await TestOfficers.EndorseAsync(Runtime, address, 1, Officers.DanKey, EndorsementKind.Requester);
        await TestOfficers.EndorseAsync(Runtime, address, 1, Officers.BobKey, EndorsementKind.Approver);
        return address;
    }

    /// <summary>What the officer does on their own machine: 'sealpost sign' with the slip the page shows and a personal key file.</summary>
    private static async Task<string> SignAsync(string shownCommand, string keyFile, params string[] more)
    {
        var slip = shownCommand[(shownCommand.IndexOf('\'') + 1)..shownCommand.LastIndexOf('\'')];
        var signed = await CliRunner.RunOfflineAsync("", ["sign", slip, "--key", keyFile, .. more]);
        Assert.True(signed.ExitCode == 0, signed.Err);
        return signed.Out.Trim();
    }

    private async Task<KeyVersionState> StateOfAsync(string address, int version) =>
        (await Runtime.KeyCustody.ListKeyVersionsAsync(LocalAdministrator, address, false)).Single(v => v.Version == version).State;

    [Fact]
    public async Task A_department_administrators_reset_is_approved_by_an_officer_and_the_person_enrols()
    {
        var carol = await EndorsedAccountAsync("carol");
        var admin = await AdministratorUserAsync("dept-admin@example.test", Role.DomainAdmin);
        await admin.Page.GotoAsync(Url("/console/accounts/carol%40example.test"));
        await ConfirmAsync(admin, "reset");
        await admin.Page.ClickAsync("text=Reset to a new enrolment token");
        var token = (await admin.Page.TextContentAsync("#token"))!.Trim();
        Assert.Equal(KeyVersionState.Pending, await StateOfAsync(carol, 2));

        // The administrator asks for the new version: signed with Dan's key on their machine, handed in here.
        await admin.Page.GotoAsync(Url("/console/accounts/carol%40example.test"));
        var requested = await SignAsync((await admin.Page.TextContentAsync("#pending-versions code.slip"))!, Officers.DanKey, "--as", "requester");
        await admin.Page.FillAsync("#requester-signed", requested);
        await ConfirmAsync(admin, "requester");
        await admin.Page.ClickAsync("form[action*='HandIn'] button[type=submit]");
        Assert.Contains("waiting for endorsement", await admin.Page.TextContentAsync("[role=status]"));

        // An officer approves it the same way, from the officers' page.
        var officer = await AdministratorUserAsync("officer-erin@example.test", Role.SecurityOfficer);
        await officer.Page.GotoAsync(Url("/console/officers"));
        var row = officer.Page.Locator("#pending-versions tr", new() { HasText = carol });
        var approved = await SignAsync((await row.Locator("code.slip").TextContentAsync())!, Officers.ErinKey, "--as", "approver");
        await officer.Page.FillAsync("#officer-signed", approved);
        await ConfirmAsync(officer, "officer");
        await officer.Page.ClickAsync("form[action*='HandIn'] button[type=submit]");
        Assert.Contains("carol@example.test key version 2: endorsed", await officer.Page.TextContentAsync("[role=status]"));
        Assert.Equal(KeyVersionState.Endorsed, await StateOfAsync(carol, 2));

        var person = await EnrolAsync(carol, token, "carol's own new passphrase");
        Assert.Contains("You are enrolled", await person.TextContentAsync("#enrolled"));
    }

    [Fact]
    public async Task A_reset_with_a_wrong_password_at_re_authentication_does_nothing()
    {
        var dora = await EndorsedAccountAsync("dora");
        var admin = await AdministratorUserAsync("dept-admin2@example.test", Role.DomainAdmin);
        await admin.Page.GotoAsync(Url("/console/accounts/dora%40example.test"));
        await admin.Page.FillAsync("#reset-confirm-password", "not my password");
        await admin.Page.FillAsync("#reset-confirm-code", await admin.FreshCodeAsync());
        await admin.Page.ClickAsync("text=Reset to a new enrolment token");
        Assert.Contains("nothing was done", await admin.Page.TextContentAsync("#reset-confirm-error"));
        Assert.Equal(0, await admin.Page.Locator("#token").CountAsync());
        Assert.Single(await Runtime.KeyCustody.ListKeyVersionsAsync(LocalAdministrator, dora, false));
    }

    [Fact]
    public async Task A_pasted_slip_that_is_not_one_is_told_next_to_the_field()
    {
        var officer = await AdministratorUserAsync("officer-bob@example.test", Role.SecurityOfficer);
        await officer.Page.GotoAsync(Url("/console/officers"));
        await officer.Page.FillAsync("#officer-signed", "sealpost-endorsement-v1:!!!not-base64");
        await ConfirmAsync(officer, "officer");
        await officer.Page.ClickAsync("form[action*='HandIn'] button[type=submit]");
        Assert.Contains("the slip is damaged", await officer.Page.TextContentAsync("#officer-signed-error"));
    }

    [Fact]
    public async Task An_officer_approves_an_access_grant_with_a_slip_signed_offline()
    {
        var investigator = await EndorsedAccountAsync("investigator");
        var mailbox = await EndorsedAccountAsync("suspect");
        var grant = await Runtime.AccessGrants.RequestAsync(LocalAdministrator, investigator, mailbox, "case 2026-301: ordered by the inspector", null, DateTimeOffset.UtcNow.AddDays(2));
        var officer = await AdministratorUserAsync("officer-alice@example.test", Role.SecurityOfficer);
        await officer.Page.GotoAsync(Url("/console/officers"));
        var row = officer.Page.Locator("#grants tr", new() { HasText = grant.Id });
        var signed = await SignAsync((await row.Locator("code.slip").TextContentAsync())!, Officers.AliceKey);
        await officer.Page.FillAsync("#officer-signed", signed);
        await ConfirmAsync(officer, "officer");
        await officer.Page.ClickAsync("form[action*='HandIn'] button[type=submit]");
        Assert.Contains($"Grant {grant.Id}", await officer.Page.TextContentAsync("[role=status]"));
        Assert.Equal(["Alice"], (await Runtime.AccessGrants.GetAsync(LocalAdministrator, grant.Id)).ApprovedBy);
    }

    [Fact]
    public async Task A_platform_administrator_grants_a_role_after_re_authenticating()
    {
        var erik = await EndorsedAccountAsync("erik");
        var admin = await AdministratorUserAsync("platform-a@example.test", Role.PlatformAdmin);
        await admin.Page.GotoAsync(Url("/console/accounts/erik%40example.test"));
        await admin.Page.SelectOptionAsync("#role", "auditor");
        await ConfirmAsync(admin, "role");
        await admin.Page.ClickAsync("text=Change the role");
        Assert.Contains("auditor", await admin.Page.TextContentAsync("#roles"));
        Assert.True((await Runtime.Store.Directory.FindAccountAsync(MailAddress.Parse(erik)))!.Roles.HasFlag(Sealpost.Core.Directory.AccountRoles.Auditor));
    }

    [Fact]
    public async Task A_role_change_without_re_authentication_is_not_made()
    {
        var fay = await EndorsedAccountAsync("fay");
        var admin = await AdministratorUserAsync("platform-b@example.test", Role.PlatformAdmin);
        await admin.Page.GotoAsync(Url("/console/accounts/fay%40example.test"));
        await admin.Page.SelectOptionAsync("#role", "platform-admin");
        await admin.Page.ClickAsync("text=Change the role");
        Assert.False(string.IsNullOrWhiteSpace(await admin.Page.TextContentAsync("#role-confirm-error")));
        Assert.False((await Runtime.Store.Directory.FindAccountAsync(MailAddress.Parse(fay)))!.Roles.HasFlag(Sealpost.Core.Directory.AccountRoles.PlatformAdmin));
    }

    [Fact]
    public async Task A_stale_edit_gets_a_conflict_and_overwrites_nothing()
    {
        var gus = await EndorsedAccountAsync("gus");
        var admin = await AdministratorUserAsync("dept-admin3@example.test", Role.DomainAdmin);
        await admin.Page.GotoAsync(Url("/console/accounts/gus%40example.test"));
        var read = (await Runtime.Store.Directory.FindAccountAsync(MailAddress.Parse(gus)))!;
        await Runtime.Directory.UpdateAccountAsync(LocalAdministrator, gus, "Gus, renamed elsewhere", null, read.CredentialVersion);

        await admin.Page.FillAsync("#edit-name", "Gus from the stale page");
        await admin.Page.ClickAsync("text=Save");
        Assert.Contains("changed since the page was read", await admin.Page.TextContentAsync("[role=alert]"));
        Assert.Equal("Gus, renamed elsewhere", (await Runtime.Store.Directory.FindAccountAsync(MailAddress.Parse(gus)))!.DisplayName);
        Assert.Equal("Gus, renamed elsewhere", await admin.Page.InputValueAsync("#edit-name"));
    }

    [Fact]
    public async Task A_search_lists_the_accounts_whose_address_starts_with_it()
    {
        foreach (var local in new[] { "search-one", "search-two", "searcher" })
        {
            await Runtime.Directory.AddUserAsync(LocalAdministrator, local + "@example.test", local + "'s passphrase", null, 0);
        }

        var admin = await AdministratorAsync("dept-admin7@example.test", Role.DomainAdmin);
        await admin.GotoAsync(Url("/console/accounts?q=Search-"));
        var listed = (await admin.Locator("table tbody td:first-child").AllTextContentsAsync()).Select(t => t.Trim()).ToList();
        Assert.Equal(["search-one@example.test", "search-two@example.test"], listed);
    }

    [Fact]
    public async Task A_quota_that_is_not_a_number_is_told_next_to_the_field()
    {
        await EndorsedAccountAsync("hana");
        var admin = await AdministratorUserAsync("dept-admin4@example.test", Role.DomainAdmin);
        await admin.Page.GotoAsync(Url("/console/accounts/hana%40example.test"));
        await admin.Page.FillAsync("#edit-quota", "lots");
        await admin.Page.ClickAsync("text=Save");
        Assert.Contains("whole number", await admin.Page.TextContentAsync("#edit-quota-error"));
    }

    [Fact]
    public async Task A_platform_administrator_adds_a_department_and_a_domain_and_gets_its_dns_records_and_dkim_key()
    {
        var admin = await AdministratorAsync("platform-c@example.test", Role.PlatformAdmin);
        await admin.GotoAsync(Url("/console/domains"));
        await admin.FillAsync("#tenant-name", "transport");
        await admin.ClickAsync("text=Add the department");
        Assert.Contains("transport", await admin.TextContentAsync("#tenants"));
        await admin.FillAsync("#domain-name", "transport.example.test");
        await admin.SelectOptionAsync("#domain-tenant", "transport");
        await admin.ClickAsync("text=Add the domain");
        await LandsOnAsync(admin, "/console/domains/transport.example.test");
        Assert.Matches(@"transport\.example\.test\. IN MX 10 [a-z0-9.-]+\.", await admin.TextContentAsync("#records"));
        await admin.ClickAsync("text=Make the DKIM key");
        Assert.Contains("._domainkey.transport.example.test. IN TXT", await admin.TextContentAsync("#records"));
    }

    [Fact]
    public async Task A_domain_that_is_not_a_name_is_told_next_to_the_field()
    {
        var admin = await AdministratorAsync("platform-d@example.test", Role.PlatformAdmin);
        await admin.GotoAsync(Url("/console/domains"));
        await admin.FillAsync("#domain-name", "not a domain!");
        await admin.ClickAsync("text=Add the domain");
        Assert.False(string.IsNullOrWhiteSpace(await admin.TextContentAsync("#domain-name-error")));
    }

    [Fact]
    public async Task A_department_administrator_adds_an_alias_and_a_group_with_a_member()
    {
        var ivan = await EndorsedAccountAsync("ivan");
        var admin = await AdministratorAsync("dept-admin5@example.test", Role.DomainAdmin);
        await admin.GotoAsync(Url("/console/addresses"));
        await admin.FillAsync("#alias", "helpdesk@example.test");
        await admin.FillAsync("#target", ivan);
        await admin.ClickAsync("text=Add the alias");
        Assert.Contains("helpdesk@example.test", await admin.TextContentAsync("#aliases"));
        await admin.FillAsync("#group", "team@example.test");
        await admin.ClickAsync("text=Add the group");
        var group = admin.Locator("section.group", new() { HasText = "team@example.test" });
        await group.Locator("input[name=Member]").FillAsync(ivan);
        await group.Locator("button[type=submit]").Last.ClickAsync();
        Assert.Contains(ivan, await admin.Locator("section.group", new() { HasText = "team@example.test" }).TextContentAsync());
    }

    [Fact]
    public async Task An_alias_for_an_address_taken_is_told_next_to_the_field()
    {
        var jo = await EndorsedAccountAsync("jo");
        var admin = await AdministratorAsync("dept-admin6@example.test", Role.DomainAdmin);
        await admin.GotoAsync(Url("/console/addresses"));
        await admin.FillAsync("#alias", jo);
        await admin.FillAsync("#target", jo);
        await admin.ClickAsync("text=Add the alias");
        Assert.False(string.IsNullOrWhiteSpace(await admin.TextContentAsync("#alias-error")));
    }

    [Fact]
    public async Task An_operator_holds_and_releases_a_queued_message()
    {
        var sender = await EndorsedAccountAsync("sender");
        using (var smtp = new MailKit.Net.Smtp.SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            var submission = Server.Server.SmtpEndpoint(Sealpost.Smtp.SmtpListenerKind.Submission);
            await smtp.ConnectAsync("127.0.0.1", submission.Port, MailKit.Security.SecureSocketOptions.StartTls);
            await smtp.AuthenticateAsync(sender, "sender's first passphrase");
            var message = Submitter.Message("CONSOLEQUEUEMARK", "someone@outside.example");
            message.From.Clear();
            message.From.Add(MimeKit.MailboxAddress.Parse(sender));
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        var id = (await Runtime.Queue.ListAsync(LocalAdministrator, default)).Single().Id;
        var page = await AdministratorAsync("ops-q@example.test", Role.Operator);
        await page.GotoAsync(Url("/console/queue"));
        await page.ClickAsync($"button[aria-label='Hold message {id}']");
        Assert.Contains($"Message {id} is held.", await page.TextContentAsync("[role=status]"));
        Assert.Contains("held", await page.TextContentAsync("#queue"));
        Assert.DoesNotContain("CONSOLEQUEUEMARK", await page.ContentAsync());
        await page.ClickAsync($"button[aria-label='Release message {id}']");
        Assert.Contains($"Message {id} is released.", await page.TextContentAsync("[role=status]"));
        await Runtime.Queue.DeleteAsync(LocalAdministrator, id, default);
    }

    [Fact]
    public async Task An_operator_sees_the_nodes_health_and_when_its_certificate_expires()
    {
        var page = await AdministratorAsync("ops-h@example.test", Role.Operator);
        Assert.Equal(200, (await page.GotoAsync(Url("/console/health")))!.Status);
        Assert.Equal("Ready", (await page.TextContentAsync("#health-status"))!.Trim());
        Assert.Matches(@"expires .+ \(\d+ days\)", (await page.TextContentAsync("#certificate"))!.Trim());
        var node = Runtime.Audit.Node;
        Assert.Contains("running", await page.Locator("#nodes tr", new() { HasText = node }).TextContentAsync());
    }

    [Fact]
    public async Task A_platform_administrator_reads_the_policies_in_force()
    {
        var page = await AdministratorAsync("platform-p@example.test", Role.PlatformAdmin);
        await page.GotoAsync(Url("/console/policies"));
        var row = page.Locator("#policies tr", new() { HasText = "Limits:MaxAuthFailuresPerAccount" });
        Assert.Contains("Failed sign-ins before an account is locked out", await row.TextContentAsync());
        Assert.Equal(Server.Server.Runtime.Options.Limits.MaxAuthFailuresPerAccount.ToString(System.Globalization.CultureInfo.InvariantCulture), (await row.Locator("td").Nth(1).TextContentAsync())!.Trim());
    }

    [Fact]
    public async Task A_department_administrator_gets_403_on_the_policies()
    {
        var page = await AdministratorAsync("dept-admin-p@example.test", Role.DomainAdmin);
        Assert.Equal(403, (await page.GotoAsync(Url("/console/policies")))!.Status);
    }

    [Theory]
    [InlineData("/console/accounts")]
    [InlineData("/console/accounts/listed%40example.test")]
    [InlineData("/console/addresses")]
    public async Task An_operator_gets_403_on_every_account_page(string path)
    {
        if (await Runtime.Store.Directory.FindAccountAsync(MailAddress.Parse("listed@example.test")) is null)
        {
            await EndorsedAccountAsync("listed");
        }

        var page = await AdministratorAsync("ops-" + path.Length + "@example.test", Role.Operator);
        Assert.Equal(403, (await page.GotoAsync(Url(path)))!.Status);
    }

    [Fact]
    public async Task An_auditor_filters_by_action_and_exports_the_period_with_its_head()
    {
        var page = await AdministratorAsync("auditor-f@example.test", Role.Auditor);
        await page.GotoAsync(Url("/console/audit"));
        await page.SelectOptionAsync("#action", "AccountCreated");
        await page.ClickAsync("form[role=search] button[type=submit]");
        var actions = await page.Locator("#records tbody tr td:nth-child(4)").AllTextContentsAsync();
        Assert.NotEmpty(actions);
        Assert.All(actions, a => Assert.Equal("AccountCreated", a.Trim()));

        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#export"));
        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync((await download.PathAsync())!));
        Assert.True(json.RootElement.GetProperty("records").GetArrayLength() > 0);
        Assert.True(json.RootElement.GetProperty("head").GetProperty("seq").GetInt64() > 0);
    }

    [Fact]
    public async Task A_user_downloads_a_profile_for_an_apple_device_whose_app_password_signs_in_over_imap()
    {
        var kim = await EndorsedAccountAsync("kim");
        var page = await PageAsync();
        await page.GotoAsync(Url("/console/sign-in"));
        await page.FillAsync("#address", kim);
        await page.FillAsync("#password", "kim's first passphrase");
        await page.ClickAsync("main button[type=submit]");
        await LandsOnAsync(page, "/console");
        await page.GotoAsync(Url("/console/app-passwords"));
        await page.FillAsync("#label", "iPhone");
        await page.FillAsync("#password", "kim's first passphrase");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#mobileconfig"));

        // Signed with the server's certificate: openssl checks the signature and hands back the profile and the signer.
        using var work = new TempFolder("sealpost-mobileconfig");
        var verified = await Tools.RunAsync(Tools.Require("openssl"), ["smime", "-verify", "-noverify", "-inform", "DER", "-in", (await download.PathAsync())!,
            "-out", work.Sub("profile.xml"), "-signer", work.Sub("signer.pem")]);
        Assert.True(verified.Exit == 0, verified.Output);
        using var signer = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(work.Sub("signer.pem")));
        Assert.Equal(Server.Server.Certificates.SelectCertificate(null).Thumbprint, signer.Thumbprint);
        var profile = System.Xml.Linq.XDocument.Load(work.Sub("profile.xml"));
        var keys = profile.Descendants("key").ToList();
        string After(string key) => ((System.Xml.Linq.XElement)keys.First(k => k.Value == key).NextNode!).Value;
        Assert.Contains("com.apple.mail.managed", keys.Where(k => k.Value == "PayloadType").Select(k => ((System.Xml.Linq.XElement)k.NextNode!).Value));
        Assert.Equal(kim, After("IncomingMailServerUsername"));

        using var imap = new MailKit.Net.Imap.ImapClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await imap.ConnectAsync("127.0.0.1", Server.Server.ImapEndpoint(Sealpost.Imap.ImapListenerKind.ImplicitTls).Port, MailKit.Security.SecureSocketOptions.SslOnConnect);
        await imap.AuthenticateAsync(kim, After("IncomingPassword"));
        Assert.True(imap.IsAuthenticated);
    }
}
