using System.Text.RegularExpressions;
using Sealpost.Cli;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>
/// The CLI against a running server: `sealpost admin bootstrap` offline, `sealpost login` (password,
/// TOTP enrolment, then password and code), and admin commands that then run through the API as that
/// administrator, authorised and audited as them.
/// </summary>
public sealed class CliOverApiTests
{
    /// <summary>Standard input whose next line is computed when the command asks for it (a TOTP code from a secret it just printed).</summary>
    private sealed class AnsweringReader(Queue<Func<string>> answers) : TextReader
    {
        public override string? ReadLine() => answers.Count == 0 ? null : answers.Dequeue()();
    }

    private sealed record Run(int Exit, string Out, string Err);

    private static async Task<Run> CliAsync(TestServer server, string credentials, Queue<Func<string>> input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new CliConsole(new AnsweringReader(input), output, error, inputIsTerminal: false);
        var all = args.Concat(["--credentials", credentials, "--server", server.Https.ToString()])
            .Concat(args[0] == "login" ? ["--ca-file", server.DevCertificateFile] : [])
            .Concat(TestOptions.CliArgs(server.Server.Runtime.Options.DataDirectory)).ToArray();
        var exit = await SealpostCli.RunAsync(all, console);
        return new Run(exit, output.ToString(), error.ToString());
    }

    private static Queue<Func<string>> Lines(params string[] lines) => new(lines.Select(l => (Func<string>)(() => l)));

    [Fact]
    public async Task Bootstrap_login_with_enrolment_then_admin_commands_run_as_the_administrator_and_are_audited()
    {
        await using var server = await TestServer.StartAsync();
        using var folder = new TempFolder();
        var credentials = Path.Combine(folder.Path, "credentials.json");
        var cli = new CliRunner(server.Server.Runtime.Options.DataDirectory);

        var bootstrap = await cli.OkAsync("admin", "bootstrap", "root@gov.test");
        var oneTime = Regex.Match(bootstrap.Out, @"^\s+([a-z0-9]{4}(-[a-z0-9]{4}){7})\s*$", RegexOptions.Multiline).Groups[1].Value;
        Assert.NotEmpty(oneTime);

        // First sign-in: the one-time password alone; the CLI enrols TOTP with the code for the secret it prints.
        var output = new StringWriter();
        var enrolInput = new Queue<Func<string>>();
        enrolInput.Enqueue(() => oneTime);
        enrolInput.Enqueue(() => "");
        enrolInput.Enqueue(() => ApiClient.CurrentCode(Regex.Match(output.ToString(), @"secret: ([A-Z2-7]+)").Groups[1].Value));
        var console = new CliConsole(new AnsweringReader(enrolInput), output, new StringWriter(), inputIsTerminal: false);
        var enrolArgs = new[] { "login", "root@gov.test", "--credentials", credentials, "--server", server.Https.ToString(), "--ca-file", server.DevCertificateFile };
        Assert.Equal(0, await SealpostCli.RunAsync(enrolArgs, console));
        Assert.Contains("TOTP enrolled", output.ToString());
        Assert.False(File.Exists(credentials));
        var secret = Regex.Match(output.ToString(), @"secret: ([A-Z2-7]+)").Groups[1].Value;

        var login = await CliAsync(server, credentials, Lines(oneTime, ApiClient.NextCode(secret)), "login", "root@gov.test");
        Assert.True(login.Exit == 0, login.Err);
        Assert.Contains("Signed in", login.Out);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials));
        }

        Assert.Equal(0, (await CliAsync(server, credentials, Lines("a-new-colleague-passphrase"), "user", "add", "carol@example.test")).Exit);
        Assert.Equal(0, (await CliAsync(server, credentials, Lines(), "alias", "add", "help@example.test", "carol@example.test")).Exit);
        Assert.Equal(0, (await CliAsync(server, credentials, Lines(), "role", "grant", "carol@example.test", "domain-admin")).Exit);
        var list = await CliAsync(server, credentials, Lines(), "user", "list", "--domain", "example.test");
        Assert.Contains("carol@example.test", list.Out);
        Assert.Equal(0, (await CliAsync(server, credentials, Lines(), "group", "members", "team@example.test", "--add", "carol@example.test")).Exit);
        var dkim = await CliAsync(server, credentials, Lines(), "dkim", "create", "--domain", "example.test", "--algorithm", "ed25519");
        Assert.True(dkim.Exit == 0, dkim.Err);
        Assert.Contains("v=DKIM1", dkim.Out);
        Assert.DoesNotContain("PRIVATE", dkim.Out);

        var records = await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Actor: "root@gov.test"));
        foreach (var action in new[] { AuditAction.AccountCreated, AuditAction.AliasAdded, AuditAction.RoleGranted, AuditAction.GroupMemberAdded, AuditAction.DkimKeyCreated })
        {
            var record = Assert.Single(records, r => r.Event.Action == action);
            Assert.Equal("api", record.Event.Protocol);
            Assert.Equal("platform-admin", record.Event.Role);
            Assert.Equal(AuditOutcome.Success, record.Event.Outcome);
        }

        Assert.Single(await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.AdministratorBootstrapped)));
    }

    [Fact]
    public async Task Bootstrap_is_refused_once_a_platform_administrator_exists()
    {
        await using var server = await TestServer.StartAsync();
        var cli = new CliRunner(server.Server.Runtime.Options.DataDirectory);
        await cli.OkAsync("admin", "bootstrap", "root@example.test");
        (await cli.RunAsync("admin", "bootstrap", "second@example.test")).AssertCleanError(1, "exists already");
    }

    [Fact]
    public async Task A_command_the_administrators_role_does_not_allow_is_refused_by_the_server()
    {
        await using var server = await TestServer.StartAsync();
        using var api = new ApiClient(server);
        using var folder = new TempFolder();
        var credentials = Path.Combine(folder.Path, "credentials.json");
        await server.Server.Runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "op@example.test", "operator-passphrase", null, 0);
        await server.Server.Runtime.Directory.GrantRoleAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "op@example.test", Role.Operator);
        var (_, restricted) = await api.SignInAsync("op@example.test", "operator-passphrase");
        var (secret, _) = await api.EnrolAsync(restricted.GetProperty("token").GetString()!);

        Assert.Equal(0, (await CliAsync(server, credentials, Lines("operator-passphrase", ApiClient.NextCode(secret)), "login", "op@example.test")).Exit);
        var refused = await CliAsync(server, credentials, Lines("a-new-colleague-passphrase"), "user", "add", "dave@example.test");
        Assert.Equal(1, refused.Exit);
        Assert.StartsWith("error: not permitted", refused.Err);
        Assert.Single(refused.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Null(await server.Server.Runtime.Store.Directory.FindAccountAsync(Sealpost.Core.Addressing.MailAddress.Parse("dave@example.test")));
    }

    [Fact]
    public async Task Keys_are_endorsed_over_the_api_with_signatures_made_by_the_command_and_audited_as_the_signed_in_people()
    {
        using var keys = new TempFolder("sealpost-officers");
        var officers = TestOfficers.Create(keys.Path);
        await using var server = await TestServer.StartAsync(officers: officers, prepare: runtime =>
            runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "carol@example.test", "carol-passphrase-1", null, 0));
        using var api = new ApiClient(server);
        var credentials = Path.Combine(keys.Path, "credentials.json");
        foreach (var (address, role) in new[] { ("dan@example.test", Role.PlatformAdmin), ("bob@example.test", Role.SecurityOfficer) })
        {
            await server.Server.Runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, address, "officer-passphrase", null, 0);
            await server.Server.Runtime.Directory.GrantRoleAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, address, role);
            var (_, restricted) = await api.SignInAsync(address, "officer-passphrase");
            var (secret, _) = await api.EnrolAsync(restricted.GetProperty("token").GetString()!);
            var own = credentials + "." + role;
            Assert.Equal(0, (await CliAsync(server, own, Lines("officer-passphrase", ApiClient.NextCode(secret)), "login", address)).Exit);
        }

        var pending = await CliAsync(server, credentials + "." + Role.PlatformAdmin, Lines(), "keys", "list", "--pending");
        Assert.Contains("carol@example.test v1 pending", pending.Out);
        var requested = await CliAsync(server, credentials + "." + Role.PlatformAdmin, Lines(), "keys", "endorse", "carol@example.test", "--key", officers.DanKey, "--as", "requester");
        Assert.True(requested.Exit == 0, requested.Err);
        var approved = await CliAsync(server, credentials + "." + Role.SecurityOfficer, Lines(), "keys", "endorse", "--all-pending", "--key", officers.BobKey, "--as", "approver");
        Assert.True(approved.Exit == 0, approved.Err);
        Assert.Contains("endorsed (requested by Dan, approved by Bob)", approved.Out);

        var records = await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.KeyVersionEndorsed, Target: "carol@example.test"));
        Assert.Equal(["dan@example.test", "bob@example.test"], records.Select(r => r.Event.Actor));
        Assert.All(records, r => Assert.Equal("api", r.Event.Protocol));
    }

    [Fact]
    public async Task After_logout_the_session_is_ended_on_the_server_and_commands_ask_for_a_login()
    {
        await using var server = await TestServer.StartAsync();
        using var folder = new TempFolder();
        var credentials = Path.Combine(folder.Path, "credentials.json");
        Assert.Equal(0, (await CliAsync(server, credentials, Lines("alice-dev-password", ""), "login", "alice@example.test")).Exit);
        var token = ApiLoginFile.Load(credentials)!.Token;
        Assert.Equal(0, (await CliAsync(server, credentials, Lines(), "logout")).Exit);
        Assert.False(File.Exists(credentials));

        using var api = new ApiClient(server);
        using var response = await api.SendAsync(HttpMethod.Get, "/api/v1/me", token: token);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        var after = await CliAsync(server, credentials, Lines(), "user", "list");
        Assert.Equal(1, after.Exit);
        Assert.Contains("not signed in", after.Err);
    }

    [Fact]
    public async Task A_wrong_password_at_login_is_one_line_and_stores_nothing()
    {
        await using var server = await TestServer.StartAsync();
        using var folder = new TempFolder();
        var credentials = Path.Combine(folder.Path, "credentials.json");
        var run = await CliAsync(server, credentials, Lines("not-alices-password", ""), "login", "alice@example.test");
        Assert.Equal(1, run.Exit);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("Exception", run.Err);
        Assert.False(File.Exists(credentials));
    }

    [Fact]
    public async Task A_production_folder_refuses_offline_directory_changes_unless_they_are_a_recovery_step()
    {
        using var folder = new TempFolder();
        var data = folder.Sub("data");
        var cli = new CliRunner(data);
        await cli.InitAsync();
        await cli.OkAsync("domain", "add", "gov.test");

        var output = new StringWriter();
        var error = new StringWriter();
        var args = new[] { "user", "add", "someone@gov.test", "--data", data, "--set", "PasswordHashing:Profile=" + Sealpost.Core.Configuration.OptionsValidator.TestProfile,
            "--set", "Vault:MasterKeyFile=" + TestOptions.MasterKeyFile(data) };
        var exit = await SealpostCli.RunAsync(args, new CliConsole(new StringReader("a-colleague-passphrase\n"), output, error, inputIsTerminal: false));
        new CliResult(exit, output.ToString(), error.ToString()).AssertCleanError(1, "sealpost login --server");

        await cli.OkWithInputAsync("a-colleague-passphrase\n", "user", "add", "someone@gov.test");
        // The owner's password never goes into an operator's terminal on a production folder either.
        var appArgs = new[] { "user", "app-password", "someone@gov.test", "--label", "phone" }.Concat(args[3..]).ToArray();
        output = new StringWriter();
        error = new StringWriter();
        exit = await SealpostCli.RunAsync(appArgs, new CliConsole(new StringReader("a-colleague-passphrase\n"), output, error, inputIsTerminal: false));
        new CliResult(exit, output.ToString(), error.ToString()).AssertCleanError(1, "sealpost me");
        await using var audit = await Sealpost.Store.Sqlite.SqliteAuditStore.OpenAsync(data, 5000);
        var record = Assert.Single(await audit.SearchAsync(new AuditQuery(Action: AuditAction.AccountCreated)));
        Assert.Equal("cli-recovery", record.Event.Protocol);
    }

    [Fact]
    public async Task An_operator_manages_the_queue_through_the_server_and_sees_no_content()
    {
        await using var server = await TestServer.StartAsync(o => o.Delivery.Enabled = false);
        using var api = new ApiClient(server);
        using var folder = new TempFolder();
        var credentials = Path.Combine(folder.Path, "credentials.json");
        await server.SendAsAliceAsync("QUEUEDSUBJECTMARK", "someone@outside.example");
        await server.Server.Runtime.Directory.AddUserAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "op@example.test", "operator-passphrase", null, 0);
        await server.Server.Runtime.Directory.GrantRoleAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, "op@example.test", Role.Operator);
        var (_, restricted) = await api.SignInAsync("op@example.test", "operator-passphrase");
        var (secret, _) = await api.EnrolAsync(restricted.GetProperty("token").GetString()!);
        Assert.Equal(0, (await CliAsync(server, credentials, Lines("operator-passphrase", ApiClient.NextCode(secret)), "login", "op@example.test")).Exit);

        var list = await CliAsync(server, credentials, Lines(), "queue", "list");
        Assert.True(list.Exit == 0, list.Err);
        Assert.Contains("someone@outside.example (pending)", list.Out);
        Assert.Contains("<alice@example.test>", list.Out);
        Assert.DoesNotContain("QUEUEDSUBJECTMARK", list.Out);
        var id = Regex.Match(list.Out, @"^(\d+)\s", RegexOptions.Multiline).Groups[1].Value;

        var hold = await CliAsync(server, credentials, Lines(), "queue", "hold", id);
        Assert.True(hold.Exit == 0, hold.Err);
        Assert.Contains("held", (await CliAsync(server, credentials, Lines(), "queue", "show", id)).Out);
        var record = Assert.Single(await server.Server.Runtime.Audit.Store.SearchAsync(new AuditQuery(Action: AuditAction.QueueHeld)));
        Assert.Equal(("op@example.test", "operator", "api"), (record.Event.Actor, record.Event.Role, record.Event.Protocol));
    }

    [Fact]
    public async Task A_person_manages_their_own_app_passwords_and_password_from_the_cli_through_the_server()
    {
        await using var server = await TestServer.StartAsync();
        using var folder = new TempFolder();
        var credentials = Path.Combine(folder.Path, "credentials.json");
        Assert.Equal(0, (await CliAsync(server, credentials, Lines("alice-dev-password", ""), "login", "alice@example.test")).Exit);

        var made = await CliAsync(server, credentials, Lines("alice-dev-password"), "me", "app-password", "add", "--label", "phone");
        Assert.True(made.Exit == 0, made.Err);
        var secret = Regex.Match(made.Out, @"^\s+(\S+)\s*$", RegexOptions.Multiline).Groups[1].Value;
        var id = Regex.Match(made.Out, @"App password (\d+)").Groups[1].Value;
        Assert.True(await Sealpost.Tests.Web.SelfServiceTests.ImapLoginAsync(server, "alice@example.test", secret));
        Assert.Contains("phone", (await CliAsync(server, credentials, Lines(), "me", "app-password", "list")).Out);

        Assert.Equal(0, (await CliAsync(server, credentials, Lines(), "me", "app-password", "revoke", id)).Exit);
        Assert.False(await Sealpost.Tests.Web.SelfServiceTests.ImapLoginAsync(server, "alice@example.test", secret));

        var changed = await CliAsync(server, credentials, Lines("alice-dev-password", "alice-new-long-passphrase"), "me", "password");
        Assert.True(changed.Exit == 0, changed.Err);
        Assert.False(File.Exists(credentials));
        Assert.False(await Sealpost.Tests.Web.SelfServiceTests.ImapLoginAsync(server, "alice@example.test", "alice-dev-password"));
        Assert.True(await Sealpost.Tests.Web.SelfServiceTests.ImapLoginAsync(server, "alice@example.test", "alice-new-long-passphrase"));
    }
}
