using System.Text;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Core.Security;
using Sealpost.Crypto.Vault;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// A password someone else set (at creation, at a reset, or told to an administrator) is provisional:
/// the owner's first change of it makes a new key version that the old password never wrapped, so
/// whoever set it cannot read mail delivered afterwards, even holding a database copy from before.
/// </summary>
public sealed class ProvisionalPasswordTests : IAsyncLifetime
{
    private const string AdminSet = "set by the administrator";
    private const string OwnerSet = "only alice knows this";
    private TestRuntime _test = null!;

    private SealpostRuntime R => _test.Runtime;

    public async Task InitializeAsync() => _test = await TestRuntime.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private static byte[] Message(string subject) => RawMessages.Plain("alice@example.test", subject);

    private async Task<(Account Alice, long Inbox)> AliceAsync()
    {
        var alice = await R.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", AdminSet, null, 0);
        return (alice, (await R.Store.Mail.FindMailboxByRoleAsync(alice.Id, MailboxRole.Inbox))!.Id);
    }

    private async Task<Actor> OwnerAsync(Account account)
    {
        var domain = (await R.Store.Directory.FindDomainAsync(DomainName.Parse("example.test")))!;
        return Actor.ForAccount(account, domain.TenantId, "api", "127.0.0.1");
    }

    private async Task DeliverAsync(long accountId, long inbox, byte[] raw) =>
        await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(accountId, inbox)], DateTimeOffset.UtcNow);

    private async Task<byte[]> ReadAsync(IAccountSession session, long inbox, uint uid)
    {
        using var opened = await R.Reader.OpenAsync(session, (await R.Store.Mail.GetMessageAsync(inbox, uid))!);
        return await opened.ReadAllAsync();
    }

    private async Task<IAccountSession> LoginAsync(string password) =>
        (await R.Directory.LoginAsync("alice@example.test", password))?.Session ?? throw new InvalidOperationException("login failed");

    private async Task<IReadOnlyList<CredentialKind>> PasswordKindsAsync(long accountId) =>
        (await R.Store.Directory.ListCredentialsAsync(accountId)).Where(c => c.Kind != CredentialKind.AppPassword).Select(c => c.Kind).ToList();

    [Fact]
    public async Task A_new_accounts_password_is_provisional()
    {
        var (alice, _) = await AliceAsync();
        Assert.Equal([CredentialKind.ProvisionalPassword], await PasswordKindsAsync(alice.Id));
    }

    [Fact]
    public async Task The_owners_first_change_makes_a_new_key_version_that_reads_old_and_new_mail()
    {
        var (alice, inbox) = await AliceAsync();
        var before = Message("Before the change");
        await DeliverAsync(alice.Id, inbox, before);

        await R.Directory.SetPasswordAsync(await OwnerAsync(alice), "alice@example.test", OwnerSet, AdminSet);
        var after = Message("After the change");
        await DeliverAsync(alice.Id, inbox, after);

        using var session = await LoginAsync(OwnerSet);
        Assert.Equal(2, session.CurrentKeyVersion);
        Assert.Equal([2], session.KeyVersions);
        Assert.Equal(before, await ReadAsync(session, inbox, 1));
        Assert.Equal(after, await ReadAsync(session, inbox, 2));
        Assert.Equal([CredentialKind.Password], await PasswordKindsAsync(alice.Id));
        Assert.Null(await R.Directory.LoginAsync("alice@example.test", AdminSet));
    }

    [Fact]
    public async Task The_owners_later_changes_rewrap_without_a_new_version()
    {
        var (alice, _) = await AliceAsync();
        var owner = await OwnerAsync(alice);
        await R.Directory.SetPasswordAsync(owner, "alice@example.test", OwnerSet, AdminSet);
        await R.Directory.SetPasswordAsync(owner, "alice@example.test", "alice changed it again", OwnerSet);

        using var session = await LoginAsync("alice changed it again");
        Assert.Equal(2, session.CurrentKeyVersion);
        Assert.Equal([CredentialKind.Password], await PasswordKindsAsync(alice.Id));
    }

    [Fact]
    public async Task An_administrator_told_the_old_password_sets_a_provisional_one()
    {
        var (alice, _) = await AliceAsync();
        await R.Directory.SetPasswordAsync(await OwnerAsync(alice), "alice@example.test", OwnerSet, AdminSet);
        await R.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "the admin's choice again", OwnerSet);

        Assert.Equal([CredentialKind.ProvisionalPassword], await PasswordKindsAsync(alice.Id));
        using var session = await LoginAsync("the admin's choice again");
        Assert.Equal(2, session.CurrentKeyVersion); // a re-wrap: the owner's next change makes version 3
    }

    [Fact]
    public async Task A_reset_password_is_provisional_and_the_owners_change_after_it_makes_another_version()
    {
        var (alice, _) = await AliceAsync();
        await R.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", "reset by the admin", null);
        Assert.Equal([CredentialKind.ProvisionalPassword], await PasswordKindsAsync(alice.Id));

        await R.Directory.SetPasswordAsync(await OwnerAsync(alice), "alice@example.test", OwnerSet, "reset by the admin");
        using var session = await LoginAsync(OwnerSet);
        Assert.Equal(3, session.CurrentKeyVersion);
    }

    [Fact]
    public async Task App_passwords_issued_under_a_provisional_password_are_revoked_by_the_owners_change()
    {
        var (alice, _) = await AliceAsync();
        var app = await R.Directory.CreateAppPasswordAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", AdminSet, "phone set up by IT");
        Assert.NotNull(await R.Directory.LoginAsync("alice@example.test", app));

        await R.Directory.SetPasswordAsync(await OwnerAsync(alice), "alice@example.test", OwnerSet, AdminSet);

        Assert.Null(await R.Directory.LoginAsync("alice@example.test", app));
        Assert.DoesNotContain(await R.Store.Directory.ListCredentialsAsync(alice.Id), c => c.Kind == CredentialKind.AppPassword);
    }

    [Fact]
    public async Task Rotating_with_a_provisional_password_keeps_it_provisional()
    {
        var (alice, _) = await AliceAsync();
        await R.Directory.RotateKeyAsync(SealpostRuntime.LocalAdministrator, "alice@example.test", AdminSet);
        Assert.Equal([CredentialKind.ProvisionalPassword], await PasswordKindsAsync(alice.Id));
    }

    /// <summary>
    /// The review's finding: a database copy from before the owner's change plus the password the
    /// administrator set decrypted mail delivered after it. Every key that pair yields is tried.
    /// </summary>
    [Fact]
    public async Task A_copy_from_before_the_change_and_the_admin_set_password_cannot_open_mail_delivered_after()
    {
        var (alice, inbox) = await AliceAsync();
        await DeliverAsync(alice.Id, inbox, Message("Before the change"));
        var copy = DataFolders.CopyWithMasterKey(_test, "copy-before-change");

        await R.Directory.SetPasswordAsync(await OwnerAsync(alice), "alice@example.test", OwnerSet, AdminSet);
        await DeliverAsync(alice.Id, inbox, Message("After the change"));

        var options = TestOptions.For(copy);
        await using var old = await SealpostRuntime.OpenAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        using var attacker = (await old.Directory.LoginAsync("alice@example.test", AdminSet))?.Session
            ?? throw new InvalidOperationException("the copy should open with the admin-set password");
        Assert.Equal([1], attacker.KeyVersions);

        // What came before the change the copy can read; what came after, no key of it opens.
        using (var opened = await old.Reader.OpenAsync(attacker, (await old.Store.Mail.GetMessageAsync(inbox, 1))!))
        {
            Assert.Contains("Before the change", Encoding.UTF8.GetString(await opened.ReadAllAsync()));
        }

        var after = (await R.Store.Mail.GetMessageAsync(inbox, 2))!;
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.Reader.OpenAsync(attacker, after))).Kind);
        var rewrapped = (await R.Store.Mail.GetMessageAsync(inbox, 1))!;
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.Reader.OpenAsync(attacker, rewrapped))).Kind);
        Assert.Null(await R.Directory.LoginAsync("alice@example.test", AdminSet));
    }
}
