using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>The role and audit commands: what they print, and one clear line for every bad input.</summary>
public sealed class AuditCliTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new("sealpost-audit-cli");
    private CliRunner _cli = null!;

    public async Task InitializeAsync()
    {
        _cli = new CliRunner(_folder.Sub("data"));
        await _cli.InitAsync();
        await _cli.OkAsync("domain", "add", "example.test");
        await _cli.OkWithInputAsync("a long pass phrase\n", "user", "add", "alice@example.test");
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("not a role", new[] { "role", "grant", "alice@example.test", "emperor" }, "is not a role")]
    [InlineData("system is not grantable", new[] { "role", "grant", "alice@example.test", "system" }, "is not a role")]
    [InlineData("unknown account", new[] { "role", "grant", "nobody@example.test", "auditor" }, "no account")]
    [InlineData("user cannot be revoked", new[] { "role", "revoke", "alice@example.test", "user" }, "keeps the user role")]
    [InlineData("unknown action", new[] { "audit", "search", "--action", "Teleported" }, "is not an audit action")]
    [InlineData("bad time", new[] { "audit", "search", "--since", "yesterday-ish" }, "is not a time")]
    [InlineData("bad limit", new[] { "audit", "search", "--limit", "0" }, "--limit")]
    [InlineData("bad export range", new[] { "audit", "export", "--from", "soon" }, "is not a time")]
    public async Task Bad_input_is_one_line_and_exit_1(string what, string[] args, string expected)
    {
        Assert.NotEmpty(what);
        var result = await _cli.RunAsync(args);
        result.AssertCleanError(1, expected);
    }

    [Fact]
    public async Task Throwing_the_audit_trail_away_is_refused_outside_a_dev_folder()
    {
        var result = await _cli.RunAsync("user", "suspend", "alice@example.test", "--set", "Audit:Store=discard-benchmark-only");
        result.AssertCleanError(1, "refused outside a --dev data folder");
        Assert.DoesNotContain("suspended", (await _cli.OkAsync("user", "list")).Out);
    }

    [Fact]
    public async Task Roles_are_granted_listed_and_revoked()
    {
        await _cli.OkAsync("role", "grant", "alice@example.test", "auditor");
        Assert.Contains("auditor", (await _cli.OkAsync("role", "list")).Out);
        await _cli.OkAsync("role", "revoke", "alice@example.test", "auditor");
        Assert.DoesNotContain("alice@example.test", (await _cli.OkAsync("role", "list")).Out);
    }

    [Fact]
    public async Task Search_finds_records_and_export_ends_with_a_signed_head()
    {
        var found = await _cli.OkAsync("audit", "search", "--action", "AccountCreated");
        Assert.Contains("alice@example.test", found.Out);
        var export = await _cli.OkAsync("audit", "export");
        var lines = export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("\"action\":\"AccountCreated\"", export.Out);
        Assert.StartsWith("{\"head\":", lines[^1]);
    }
}
