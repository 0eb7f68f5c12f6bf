using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>Every command's happy path and its bad-input path, in-process against a real data folder.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly CliRunner _cli;

    public CliTests()
    {
        _cli = new CliRunner(_folder.Sub("data"));
    }

    public void Dispose() => _folder.Dispose();

    private async Task InitWithDomainAsync()
    {
        await _cli.InitAsync();
        await _cli.OkAsync("domain", "add", "example.test");
    }

    [Fact]
    public async Task Init_creates_a_data_folder_once()
    {
        var result = await _cli.InitAsync();
        Assert.Contains("Initialised", result.Out);
        Assert.True(File.Exists(Path.Combine(_cli.DataDirectory, "sealpost.db")));
        Assert.False(File.Exists(Path.Combine(_cli.DataDirectory, "DEV-ONLY")));
        var (key, _) = TestOptions.RecoveryKey(_folder.Path);
        (await _cli.RunAsync("init", "--recovery-public-key", key)).AssertCleanError(1, "already initialised");
    }

    [Fact]
    public async Task Init_refuses_a_folder_with_other_files()
    {
        Directory.CreateDirectory(_cli.DataDirectory);
        await File.WriteAllTextAsync(Path.Combine(_cli.DataDirectory, "something"), "x");
        var (key, _) = TestOptions.RecoveryKey(_folder.Path);
        (await _cli.RunAsync("init", "--recovery-public-key", key)).AssertCleanError(1, "not empty");
    }

    [Fact]
    public async Task Init_needs_the_recovery_public_key_and_refuses_a_bad_one()
    {
        (await _cli.RunAsync("init")).AssertCleanError(1, "--recovery-public-key");
        var bad = _folder.Sub("bad.pub");
        await File.WriteAllTextAsync(bad, "not a key");
        (await _cli.RunAsync("init", "--recovery-public-key", bad)).AssertCleanError(1, "not a sealpost-recovery-public-key-v1 file");
        (await _cli.RunAsync("init", "--recovery-public-key", _folder.Sub("missing.pub"))).AssertCleanError(1, "cannot read");
        Assert.False(File.Exists(Path.Combine(_cli.DataDirectory, "sealpost.initialised")));
    }

    [Fact]
    public async Task Recovery_key_generate_writes_both_halves_and_never_overwrites()
    {
        var pub = _folder.Sub("r.pub");
        var priv = _folder.Sub("r.key");
        await _cli.OkAsync("recovery-key", "generate", "--public-out", pub, "--private-out", priv);
        Assert.StartsWith("sealpost-recovery-public-key-v1:", await File.ReadAllTextAsync(pub));
        Assert.StartsWith("sealpost-recovery-private-key-v1:", await File.ReadAllTextAsync(priv));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(priv));
        }
        (await _cli.RunAsync("recovery-key", "generate", "--public-out", pub, "--private-out", _folder.Sub("other.key"))).AssertCleanError(1, "already exists");
    }

    [Fact]
    public async Task Commands_on_a_folder_that_was_never_initialised_say_how_to_fix_it()
    {
        (await _cli.RunAsync("user", "list")).AssertCleanError(1, "sealpost init");
    }

    [Fact]
    public async Task Tenants_are_added_and_listed()
    {
        await _cli.InitAsync();
        await _cli.OkAsync("tenant", "add", "finance", "--display-name", "Finance department");
        var list = await _cli.OkAsync("tenant", "list");
        Assert.Contains("finance", list.Out);
        Assert.Contains("Finance department", list.Out);
        Assert.Contains("default", list.Out);
        (await _cli.RunAsync("tenant", "add", "finance")).AssertCleanError(1, "already exists");
        (await _cli.RunAsync("tenant", "add", "Bad Name")).AssertCleanError(1, "a-z");
    }

    [Fact]
    public async Task Domains_are_added_listed_and_removed_when_empty()
    {
        await _cli.InitAsync();
        await _cli.OkAsync("tenant", "add", "legal");
        var added = await _cli.OkAsync("domain", "add", "Bücher.example", "--tenant", "legal");
        Assert.Contains("xn--bcher-kva.example", added.Out);
        var list = await _cli.OkAsync("domain", "list");
        Assert.Contains("bücher.example", list.Out);
        Assert.Contains("legal", list.Out);
        await _cli.OkAsync("domain", "remove", "xn--bcher-kva.example");
        Assert.DoesNotContain("bücher", (await _cli.OkAsync("domain", "list")).Out);

        (await _cli.RunAsync("domain", "add", "not_a_domain")).AssertCleanError(1, "not a valid domain");
        (await _cli.RunAsync("domain", "add", "x.example", "--tenant", "nosuch")).AssertCleanError(1, "no tenant");
        (await _cli.RunAsync("domain", "remove", "unknown.example")).AssertCleanError(1, "not a local domain");
        await _cli.OkAsync("domain", "add", "busy.example");
        await _cli.OkWithInputAsync("correct horse 1\n", "user", "add", "u@busy.example");
        (await _cli.RunAsync("domain", "remove", "busy.example")).AssertCleanError(1, "still has 1 address");
    }

    [Fact]
    public async Task Users_go_through_their_whole_life()
    {
        await InitWithDomainAsync();
        var added = await _cli.OkWithInputAsync("correct horse battery\n", "user", "add", "Alice@Example.test", "--display-name", "Alice A", "--quota", "2G");
        Assert.Contains("Alice@example.test", added.Out);
        Assert.Contains("2 GiB", added.Out);
        var list = await _cli.OkAsync("user", "list", "--domain", "example.test");
        Assert.Contains("Alice A", list.Out);
        Assert.Contains("active", list.Out);

        await _cli.OkWithInputAsync("correct horse battery\nanother good password\n", "user", "passwd", "alice@example.test");
        (await _cli.RunWithInputAsync("wrong old password\nyet another password\n", "user", "passwd", "alice@example.test")).AssertCleanError(1, "old password is wrong");
        var reset = await _cli.OkWithInputAsync("a reset password!\n", "user", "passwd", "alice@example.test", "--reset");
        Assert.Contains("owner notified", reset.Out);
        await _cli.OkWithInputAsync("a reset password!\n", "user", "rotate-key", "alice@example.test");
        var app = await _cli.OkWithInputAsync("a reset password!\n", "user", "app-password", "alice@example.test", "--label", "phone");
        Assert.Matches("^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$", app.Out.Trim());
        (await _cli.RunWithInputAsync("not the password\n", "user", "app-password", "alice@example.test", "--label", "phone")).AssertCleanError(1, "wrong password");
        await _cli.OkAsync("user", "suspend", "alice@example.test");
        Assert.Contains("suspended", (await _cli.OkAsync("user", "list")).Out);
        await _cli.OkAsync("user", "activate", "alice@example.test");
        await _cli.OkAsync("user", "delete", "alice@example.test");
        Assert.Contains("deleted", (await _cli.OkAsync("user", "list")).Out);
        (await _cli.RunAsync("user", "activate", "alice@example.test")).AssertCleanError(1, "deleted");
        (await _cli.RunWithInputAsync("new password here\n", "user", "passwd", "alice@example.test")).AssertCleanError(1, "deleted");
    }

    [Fact]
    public async Task Accounts_made_or_reset_for_enrolment_print_a_token_and_read_no_password()
    {
        await InitWithDomainAsync();
        var added = await _cli.OkAsync("user", "add", "carol@example.test", "--enrol");
        Assert.Matches("(?m)^([A-Z2-7]{4}-){9}[A-Z2-7]{4}$", added.Out);
        Assert.Contains("mail to it is accepted now", added.Out);
        var reset = await _cli.OkAsync("user", "passwd", "carol@example.test", "--reset", "--enrol");
        Assert.Matches("(?m)^([A-Z2-7]{4}-){9}[A-Z2-7]{4}$", reset.Out);
        Assert.Contains("owner notified", reset.Out);
        (await _cli.RunAsync("user", "passwd", "carol@example.test", "--enrol")).AssertCleanError(1, "--enrol goes with --reset");
    }

    [Theory]
    [InlineData("good password\n", new[] { "user", "add", "not-an-address" }, "local-part@domain")]
    [InlineData("good password\n", new[] { "user", "add", "x@unknown.example" }, "not a local domain")]
    [InlineData("short\n", new[] { "user", "add", "x@example.test" }, "at least 8")]
    [InlineData("", new[] { "user", "add", "x@example.test" }, "standard input")]
    [InlineData("good password\n", new[] { "user", "add", "x@example.test", "--quota", "lots" }, "not a size")]
    [InlineData("good password\n", new[] { "user", "passwd", "ghost@example.test" }, "no account")]
    [InlineData("", new[] { "user", "suspend", "ghost@example.test" }, "no account")]
    [InlineData("", new[] { "user", "delete", "bad address" }, "local-part@domain")]
    [InlineData("", new[] { "user", "list", "--domain", "nope.example" }, "not a local domain")]
    public async Task Bad_user_input_is_one_line_and_exit_1(string stdin, string[] args, string fragment)
    {
        await InitWithDomainAsync();
        (await _cli.RunWithInputAsync(stdin, args)).AssertCleanError(1, fragment);
    }

    [Fact]
    public async Task A_duplicate_address_is_refused()
    {
        await InitWithDomainAsync();
        await _cli.OkWithInputAsync("correct horse battery\n", "user", "add", "bob@example.test");
        (await _cli.RunWithInputAsync("correct horse battery\n", "user", "add", "BOB@example.test")).AssertCleanError(1, "already in use");
    }

    [Fact]
    public async Task Aliases_are_added_listed_and_removed()
    {
        await InitWithDomainAsync();
        await _cli.OkWithInputAsync("correct horse battery\n", "user", "add", "alice@example.test");
        await _cli.OkAsync("alias", "add", "postmaster@example.test", "alice@example.test");
        await _cli.OkAsync("alias", "add", "forward@example.test", "someone@remote.example");
        var list = await _cli.OkAsync("alias", "list");
        Assert.Contains("postmaster@example.test", list.Out);
        Assert.Contains("someone@remote.example", list.Out);
        await _cli.OkAsync("alias", "remove", "postmaster@example.test");
        Assert.DoesNotContain("postmaster", (await _cli.OkAsync("alias", "list")).Out);

        (await _cli.RunAsync("alias", "add", "x@example.test", "ghost@example.test")).AssertCleanError(1, "does not exist");
        (await _cli.RunAsync("alias", "add", "alice@example.test", "x@remote.example")).AssertCleanError(1, "already in use");
        (await _cli.RunAsync("alias", "remove", "never@example.test")).AssertCleanError(1, "no alias");
    }

    [Fact]
    public async Task Groups_are_added_and_their_members_managed()
    {
        await InitWithDomainAsync();
        await _cli.OkWithInputAsync("correct horse battery\n", "user", "add", "alice@example.test");
        await _cli.OkWithInputAsync("correct horse battery\n", "user", "add", "bob@example.test");
        await _cli.OkAsync("group", "add", "team@example.test", "--display-name", "The team");
        var members = await _cli.OkAsync("group", "members", "team@example.test", "--add", "alice@example.test", "--add", "bob@example.test", "--add", "ext@remote.example");
        Assert.Contains("alice@example.test", members.Out);
        Assert.Contains("remote", members.Out);
        members = await _cli.OkAsync("group", "members", "team@example.test", "--remove", "bob@example.test");
        Assert.DoesNotContain("bob@", members.Out);
        Assert.Contains("The team", (await _cli.OkAsync("group", "list")).Out);

        await _cli.OkAsync("group", "add", "all@example.test");
        await _cli.OkAsync("group", "members", "all@example.test", "--add", "team@example.test");
        (await _cli.RunAsync("group", "members", "team@example.test", "--add", "all@example.test")).AssertCleanError(1, "loop");
        (await _cli.RunAsync("group", "members", "nogroup@example.test")).AssertCleanError(1, "no group");
        (await _cli.RunAsync("group", "members", "team@example.test", "--add", "ghost@example.test")).AssertCleanError(1, "does not exist");
        (await _cli.RunAsync("group", "add", "alice@example.test")).AssertCleanError(1, "already in use");
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    [InlineData(new[] { "user", "add" }, "Required argument missing")]
    [InlineData(new[] { "user", "list", "--bogus" }, "--bogus")]
    [InlineData(new[] { "domain" }, "required")]
    public async Task Usage_errors_exit_2_with_one_line(string[] args, string fragment)
    {
        (await _cli.RunAsync(args)).AssertCleanError(2, fragment);
    }

    [Fact]
    public async Task Configuration_errors_name_the_key()
    {
        await _cli.InitAsync();
        var result = await _cli.RunAsync("user", "list", "--set", "Limits:MaxRecipients=0");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Limits:MaxRecipients", result.Err);
        (await _cli.RunAsync("user", "list", "--set", "novalue")).AssertCleanError(1, "KEY=VALUE");
    }

    [Fact]
    public async Task Logs_never_carry_addresses_or_passwords()
    {
        await InitWithDomainAsync();
        var add = await _cli.OkWithInputAsync("Marker-Password-5417\n", "user", "add", "marker.person@example.test", "--verbose");
        var passwd = await _cli.OkWithInputAsync("Marker-Password-5417\nMarker-Password-9931\n", "user", "passwd", "marker.person@example.test", "--verbose");
        var alias = await _cli.OkAsync("alias", "add", "marker.alias@example.test", "marker.person@example.test", "--verbose");
        var logs = add.Err + passwd.Err + alias.Err;
        Assert.Contains("[1010]", logs); // the account-created event was logged...
        Assert.Contains("a:", logs); // ...with a keyed hash in place of the address
        Assert.DoesNotContain("marker", logs, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Password-", logs);
    }
}
