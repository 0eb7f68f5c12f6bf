using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>
/// The officers' key ceremony with the sealpost command: personal keys, an anchor written and signed
/// offline, init with it, then key versions requested and approved by two people.
/// </summary>
public sealed class TrustAnchorCliTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new("sealpost-ceremony");
    private CliRunner _cli = null!;
    private string _anchor = null!;
    private string _fingerprint = null!;

    private string Key(string name) => _folder.Sub(name + ".key");

    private string Public(string name) => _folder.Sub(name + ".pub");

    private static async Task<CliResult> OfflineAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Sealpost.Cli.SealpostCli.RunAsync(args, new Sealpost.Cli.CliConsole(new StringReader(""), output, error, inputIsTerminal: false));
        Assert.True(exit == 0, $"sealpost {string.Join(' ', args)} exited {exit}: {error}");
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    public async Task InitializeAsync()
    {
        foreach (var name in new[] { "alice", "bob", "dan", "frank" })
        {
            await OfflineAsync("personal-key", "generate", "--out", Key(name), "--public-out", Public(name));
        }

        var (recovery, _) = TestOptions.RecoveryKey(_folder.Path);
        _anchor = _folder.Sub("anchor.json");
        var made = await OfflineAsync("trust-anchor", "new", "--officer", "Alice=" + Public("alice"), "--officer", "Bob=" + Public("bob"),
            "--admin", "Dan=" + Public("dan"), "--threshold", "2", "--recovery-public-key", recovery, "--out", _anchor);
        _fingerprint = made.Out.Split(' ').Single(w => w.StartsWith("sha256:", StringComparison.Ordinal)).TrimEnd('.');
        _cli = new CliRunner(_folder.Sub("data"));
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    private async Task InitSignedAsync()
    {
        await OfflineAsync("trust-anchor", "sign", _anchor, "--key", Key("alice"));
        await OfflineAsync("trust-anchor", "sign", _anchor, "--key", Key("bob"));
        var init = await _cli.OkAsync("init", "--trust-anchor", _anchor, "--unseal", "file");
        Assert.Contains("Trust anchor pinned: " + _fingerprint, init.Out);
        await _cli.OkAsync("domain", "add", "example.test");
        await _cli.OkAsync("user", "add", "carol@example.test", "--enrol");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_personal_key_file_is_readable_by_its_owner_only() =>
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Key("alice")));

    [Fact]
    public async Task Init_refuses_an_anchor_one_officer_signed()
    {
        await OfflineAsync("trust-anchor", "sign", _anchor, "--key", Key("alice"));
        (await _cli.RunAsync("init", "--trust-anchor", _anchor, "--unseal", "file")).AssertCleanError(1, "fewer than 2 valid officers' signatures");
        Assert.False(File.Exists(Path.Combine(_cli.DataDirectory, Sealpost.Server.DataFolder.InitMarkerName)));
    }

    [Fact]
    public async Task Init_pins_the_anchor_the_officers_signed_and_show_prints_it()
    {
        await InitSignedAsync();
        var shown = await _cli.OkAsync("trust-anchor", "show");
        Assert.Contains("generation 1  " + _fingerprint, shown.Out);
        Assert.Contains("Dan", shown.Out);
    }

    [Fact]
    public async Task A_new_account_is_listed_as_waiting_for_two_people()
    {
        await InitSignedAsync();
        var pending = await _cli.OkAsync("keys", "list", "--pending");
        Assert.Contains("carol@example.test", pending.Out);
        Assert.Contains("pending", pending.Out);
    }

    [Fact]
    public async Task An_administrator_cannot_approve()
    {
        await InitSignedAsync();
        (await _cli.RunAsync("keys", "endorse", "carol@example.test", "--key", Key("dan"), "--as", "approver")).AssertCleanError(1, "only officers approve");
    }

    [Fact]
    public async Task A_request_and_a_different_officers_approval_endorse_the_version()
    {
        await InitSignedAsync();
        Assert.Contains("pending (requested by Dan", (await _cli.OkAsync("keys", "endorse", "carol@example.test", "--key", Key("dan"), "--as", "requester")).Out);
        Assert.Contains("endorsed (requested by Dan, approved by Alice)", (await _cli.OkAsync("keys", "endorse", "--all-pending", "--key", Key("alice"), "--as", "approver")).Out);
        Assert.DoesNotContain("carol@example.test", (await _cli.OkAsync("keys", "list", "--pending")).Out);
    }

    [Fact]
    public async Task One_officer_cannot_request_and_approve()
    {
        await InitSignedAsync();
        await _cli.OkAsync("keys", "endorse", "carol@example.test", "--key", Key("alice"), "--as", "requester");
        (await _cli.RunAsync("keys", "endorse", "carol@example.test", "--key", Key("alice"), "--as", "approver")).AssertCleanError(1, "two different people");
    }

    [Fact]
    public async Task A_fingerprint_that_does_not_match_is_not_signed()
    {
        await InitSignedAsync();
        (await _cli.RunAsync("keys", "endorse", "carol@example.test", "--key", Key("dan"), "--as", "requester", "--fingerprint", "sha256:" + new string('a', 64)))
            .AssertCleanError(1, "not signed");
    }

    [Fact]
    public async Task The_next_generation_needs_two_current_officers()
    {
        await InitSignedAsync();
        var current = _folder.Sub("current.json");
        await _cli.OkAsync("trust-anchor", "show", "--out", current);
        var (recovery, _) = TestOptions.RecoveryKey(_folder.Path);
        var next = _folder.Sub("next.json");
        await OfflineAsync("trust-anchor", "new", "--after", current, "--officer", "Alice=" + Public("alice"), "--officer", "Bob=" + Public("bob"),
            "--admin", "Dan=" + Public("dan"), "--admin", "Frank=" + Public("frank"), "--recovery-public-key", recovery, "--out", next);
        await OfflineAsync("trust-anchor", "sign", next, "--key", Key("frank"));
        await OfflineAsync("trust-anchor", "sign", next, "--key", Key("alice"));
        (await _cli.RunAsync("trust-anchor", "update", next)).AssertCleanError(1, "generation 2 carries fewer than 2");

        await OfflineAsync("trust-anchor", "sign", next, "--key", Key("bob"));
        Assert.Contains("generation 2 is in force", (await _cli.OkAsync("trust-anchor", "update", next)).Out);
        Assert.Contains("pending (requested by Frank", (await _cli.OkAsync("keys", "endorse", "carol@example.test", "--key", Key("frank"), "--as", "requester")).Out);
    }

    [Theory]
    [InlineData("--officer", "Alice", "expected NAME=PUBLIC-KEY-FILE")]
    [InlineData("--threshold", "1", "threshold must be at least 2")]
    public async Task A_bad_anchor_is_one_clear_error(string option, string value, string message)
    {
        var (recovery, _) = TestOptions.RecoveryKey(_folder.Path);
        string[] args = ["trust-anchor", "new", "--officer", "Alice=" + Public("alice"), "--officer", "Bob=" + Public("bob"), "--recovery-public-key", recovery, "--out", _folder.Sub("bad.json"), option, value];
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Sealpost.Cli.SealpostCli.RunAsync(args, new Sealpost.Cli.CliConsole(new StringReader(""), output, error, inputIsTerminal: false));
        new CliResult(exit, output.ToString(), error.ToString()).AssertCleanError(1, message);
    }
}
