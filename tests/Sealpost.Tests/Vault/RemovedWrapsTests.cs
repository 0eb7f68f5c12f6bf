using System.Text;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// The review found deleted credential wraps in SQLite free pages after a password change. Every
/// change that removes a wrap is followed here by a scan of every byte of the data folder (database,
/// WAL, free pages, blob files) for the old wrap and its verifier: neither may remain.
/// </summary>
public sealed class RemovedWrapsTests : IAsyncLifetime
{
    private const string Password = "set by the administrator";
    private TestRuntime _test = null!;

    private SealpostRuntime R => _test.Runtime;

    public async Task InitializeAsync() => _test = await TestRuntime.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    public static TheoryData<string> Changes => new() { "owner change", "administrator change", "reset", "rotation" };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task The_removed_wrap_and_verifier_are_in_no_file_of_the_data_folder(string change)
    {
        var alice = await R.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", Password, null, 0);
        var before = Assert.Single(await R.Store.Directory.ListCredentialsAsync(alice.Id));
        Assert.NotEmpty(Find(before));

        switch (change)
        {
            case "owner change":
                var domain = (await R.Store.Directory.FindDomainAsync(DomainName.Parse("example.test")))!;
                await R.Directory.SetPasswordAsync(Actor.ForAccount(alice, domain.TenantId, "api", "127.0.0.1"), "alice@example.test", "alice's own password", Password);
                break;
            case "administrator change":
                await R.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "another admin password", Password);
                break;
            case "reset":
                await R.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "a reset password", null);
                break;
            default:
                await R.Directory.RotateKeyAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", Password);
                break;
        }

        Assert.DoesNotContain(await R.Store.Directory.ListCredentialsAsync(alice.Id), c => c.Verifier == before.Verifier);
        Assert.Empty(Find(before));
    }

    /// <summary>Files of the data folder that hold the credential's wrapped key or verifier, byte for byte.</summary>
    private List<string> Find(Credential credential)
    {
        var patterns = new[] { credential.WrappedKey, Encoding.UTF8.GetBytes(credential.Verifier) };
        return Directory.EnumerateFiles(_test.DataDirectory, "*", SearchOption.AllDirectories)
            .Where(path => !path.EndsWith(".sock", StringComparison.Ordinal) && !path.EndsWith(".lock", StringComparison.Ordinal))
            .Where(path => patterns.Any(p => File.ReadAllBytes(path).AsSpan().IndexOf(p) >= 0))
            .Select(Path.GetFileName)
            .ToList()!;
    }
}
