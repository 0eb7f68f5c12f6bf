using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>
/// Offline recovery with the sealpost command, as officers run it: a recovery key made as shares (the
/// whole key never written), a reset whose old key versions the server then exports as a request, the
/// shares combined on an offline machine to answer it, and the answer applied on the server.
/// </summary>
public sealed class RecoveryCliTests : IAsyncLifetime
{
    private const string Carol = "carol@example.test";
    private readonly TempFolder _folder = new("sealpost-recovery-cli");
    private CliRunner _cli = null!;
    private string _fingerprint = null!;

    private string Key(string name) => _folder.Sub(name + ".key");

    private string Public(string name) => _folder.Sub(name + ".pub");

    private string Share(int n) => _folder.Sub($"officers/recovery-{n}.share");

    private static async Task<CliResult> OfflineAsync(params string[] args)
    {
        var result = await RunOfflineAsync(args);
        Assert.True(result.ExitCode == 0, $"sealpost {string.Join(' ', args)} exited {result.ExitCode}: {result.Err}");
        return result;
    }

    private static Task<CliResult> RunOfflineAsync(params string[] args) => CliRunner.RunOfflineAsync("", args);

    public async Task InitializeAsync()
    {
        foreach (var name in new[] { "alice", "bob", "dan" })
        {
            await OfflineAsync("personal-key", "generate", "--out", Key(name), "--public-out", Public(name));
        }

        await OfflineAsync("recovery-key", "generate", "--public-out", _folder.Sub("recovery.pub"), "--shares", "3", "--threshold", "2", "--share-prefix", _folder.Sub("officers/recovery"));
        var anchor = _folder.Sub("anchor.json");
        var made = await OfflineAsync("trust-anchor", "new", "--officer", "Alice=" + Public("alice"), "--officer", "Bob=" + Public("bob"),
            "--admin", "Dan=" + Public("dan"), "--threshold", "2", "--recovery-public-key", _folder.Sub("recovery.pub"), "--out", anchor);
        _fingerprint = made.Out.Split(' ').Single(w => w.StartsWith("sha256:", StringComparison.Ordinal)).TrimEnd('.');
        await OfflineAsync("trust-anchor", "sign", anchor, "--key", Key("alice"));
        await OfflineAsync("trust-anchor", "sign", anchor, "--key", Key("bob"));

        _cli = new CliRunner(_folder.Sub("data"));
        await _cli.OkAsync("init", "--trust-anchor", anchor, "--unseal", "file");
        await _cli.OkAsync("domain", "add", "example.test");
        await _cli.OkWithInputAsync("carol's first pass phrase\n", "user", "add", Carol);
        await EndorseAsync();
        await _cli.OkWithInputAsync("carol's reset pass phrase\n", "user", "passwd", "--reset", Carol);
        await EndorseAsync();
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    private async Task EndorseAsync()
    {
        await _cli.OkAsync("keys", "endorse", Carol, "--key", Key("dan"), "--as", "requester");
        await _cli.OkAsync("keys", "endorse", Carol, "--key", Key("alice"), "--as", "approver");
    }

    private async Task<string> RequestAsync()
    {
        var path = _folder.Sub("request-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        Assert.Contains($"restore of {Carol} key versions 1 to version 2", (await _cli.OkAsync("recovery", "request", Carol, "--out", path)).Out);
        return path;
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Each_share_is_readable_by_its_holder_only_and_no_whole_key_was_written()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Share(1)));
        Assert.Equal(3, Directory.GetFiles(_folder.Sub("officers")).Length);
        Assert.DoesNotContain(Directory.GetFiles(_folder.Path, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).StartsWith("sealpost-recovery-private-key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_officers_shares_answer_the_request_and_the_server_applies_it()
    {
        var request = await RequestAsync();
        var response = _folder.Sub("response.json");
        var opened = await OfflineAsync("recovery", "open", "--request", request, "--share", Share(1), "--share", Share(3), "--anchor-fingerprint", _fingerprint, "--out", response);
        Assert.Contains($"{Carol} key versions 1 sealed to {Carol} key version 2", opened.Out);
        Assert.Contains("key versions 1 handed back", (await _cli.OkAsync("recovery", "apply", response)).Out);
    }

    [Fact]
    public async Task One_share_is_a_clear_error()
    {
        var request = await RequestAsync();
        (await RunOfflineAsync("recovery", "open", "--request", request, "--share", Share(2), "--anchor-fingerprint", _fingerprint, "--out", _folder.Sub("r.json")))
            .AssertCleanError(1, "this key needs 2");
        Assert.False(File.Exists(_folder.Sub("r.json")));
    }

    [Fact]
    public async Task Another_anchor_fingerprint_is_refused()
    {
        var request = await RequestAsync();
        (await RunOfflineAsync("recovery", "open", "--request", request, "--share", Share(1), "--share", Share(2), "--anchor-fingerprint", "sha256:" + new string('1', 64), "--out", _folder.Sub("r.json")))
            .AssertCleanError(1, "not the one you pinned");
    }

    [Fact]
    public async Task A_response_applied_twice_is_a_clear_error()
    {
        var request = await RequestAsync();
        var response = _folder.Sub("twice.json");
        await OfflineAsync("recovery", "open", "--request", request, "--share", Share(1), "--share", Share(2), "--anchor-fingerprint", _fingerprint, "--out", response);
        await _cli.OkAsync("recovery", "apply", response);
        (await _cli.RunAsync("recovery", "apply", response)).AssertCleanError(1, "no pending recovery request");
    }

    [Theory]
    [InlineData("{}", "not a sealpost-recovery-response-v1 file")]
    [InlineData("not json at all", "not a sealpost-recovery-response-v1 file")]
    public async Task A_damaged_response_file_is_a_clear_error(string content, string message)
    {
        var path = _folder.Sub("damaged-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        await File.WriteAllTextAsync(path, content);
        (await _cli.RunAsync("recovery", "apply", path)).AssertCleanError(1, message);
    }

    private async Task<string> ApprovedGrantAsync()
    {
        await _cli.OkWithInputAsync("greg's first pass phrase\n", "user", "add", "greg@example.test");
        await _cli.OkAsync("keys", "endorse", "greg@example.test", "--key", Key("dan"), "--as", "requester");
        await _cli.OkAsync("keys", "endorse", "greg@example.test", "--key", Key("alice"), "--as", "approver");
        var requested = await _cli.OkAsync("grants", "request", "--grantee", "greg@example.test", "--mailbox", Carol,
            "--justification", "case 12: ordered review of carol's mail", "--until", DateTimeOffset.UtcNow.AddDays(2).ToString("O"));
        var id = requested.Out.Split(' ')[1].TrimEnd(':');
        Assert.Contains("approved by Alice", (await _cli.OkAsync("grants", "approve", id, "--key", Key("alice"))).Out);
        Assert.Contains("approved (approved by Alice, Bob)", (await _cli.OkAsync("grants", "approve", id, "--key", Key("bob"))).Out);
        return id;
    }

    [Fact]
    public async Task A_grant_is_requested_approved_by_two_officers_opened_offline_and_applied()
    {
        var id = await ApprovedGrantAsync();
        var request = _folder.Sub("grant-request.json");
        Assert.Contains($"grant {id}", (await _cli.OkAsync("recovery", "request", "--grant", id, "--out", request)).Out);
        var response = _folder.Sub("grant-response.json");
        var opened = await OfflineAsync("recovery", "open", "--request", request, "--share", Share(2), "--share", Share(3), "--anchor-fingerprint", _fingerprint, "--out", response);
        Assert.Contains("greg@example.test reads carol@example.test read-only", opened.Out);
        Assert.Contains("approved by Alice and Bob", opened.Out);
        await _cli.OkAsync("recovery", "apply", response);
        Assert.Contains($"{id} active greg@example.test reads {Carol}", (await _cli.OkAsync("grants", "list")).Out);
    }

    [Fact]
    public async Task An_administrators_key_does_not_approve_a_grant()
    {
        await _cli.OkWithInputAsync("greg's first pass phrase\n", "user", "add", "greg@example.test");
        var requested = await _cli.OkAsync("grants", "request", "--grantee", "greg@example.test", "--mailbox", Carol,
            "--justification", "case 13: ordered review of carol's mail", "--until", DateTimeOffset.UtcNow.AddDays(2).ToString("O"));
        var id = requested.Out.Split(' ')[1].TrimEnd(':');
        (await _cli.RunAsync("grants", "approve", id, "--key", Key("dan"))).AssertCleanError(1, "not a security officer");
    }

    [Fact]
    public async Task A_revoked_grant_is_listed_as_revoked()
    {
        var id = await ApprovedGrantAsync();
        await _cli.OkAsync("grants", "revoke", id);
        Assert.Contains($"{id} revoked", (await _cli.OkAsync("grants", "list")).Out);
    }

    [Fact]
    public async Task A_request_whose_holder_version_is_not_endorsed_is_refused_at_the_server()
    {
        await _cli.OkWithInputAsync("erin's first pass phrase\n", "user", "add", "erin@example.test");
        (await _cli.RunAsync("recovery", "request", "erin@example.test", "--out", _folder.Sub("erin.json"))).AssertCleanError(1, "not endorsed yet");
    }
}
