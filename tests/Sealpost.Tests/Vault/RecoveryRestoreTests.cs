using System.Text;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Vault;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// Old mail after a reset: the reset's key version needs two people, the old versions then open only
/// with the recovery key, and the officers' offline machine hands them back to the owner's own endorsed
/// key (k of n shares, checked against the anchor they pinned). Until then the owner keeps working.
/// </summary>
public sealed class RecoveryRestoreTests : IAsyncLifetime
{
    private const string Alice = "alice@example.test";
    private const string First = "alice's first passphrase";
    private const string ResetTo = "a reset passphrase for alice";
    private const string Own = "alice's own passphrase now";
    private TempFolder _keys = null!;
    private TestOfficers _officers = null!;
    private TestRuntime _test = null!;
    private long _alice;
    private uint _inboxUid;
    private uint _projectsUnreadUid;
    private long _projects;

    private SealpostRuntime R => _test.Runtime;

    private static Actor Admin => SealpostRuntime.LocalAdministrator;

    public async Task InitializeAsync()
    {
        _keys = new TempFolder("sealpost-recovery");
        _officers = TestOfficers.Create(_keys.Path);
        _test = await TestRuntime.CreateAsync(officers: _officers);
        _alice = (await R.Directory.AddUserAsync(Admin, Alice, First, null, 0)).Id;
        await EndorseByTwoAsync(1);
        await R.Directory.SetPasswordAsync(await OwnerAsync(), Alice, Own + " (before)", First); // the owner's own: version 2, signed by version 1

        using (var session = await LoginAsync(Own + " (before)"))
        {
            var inbox = (await R.Mailboxes.FindAsync(_alice, session.Names, "INBOX"))!;
            _projects = (await R.Mailboxes.CreateAsync(_alice, session.Names, "Projects")).Id;
            _inboxUid = await DeliverAsync(inbox.Id, "inbox-before-reset");
            await ReadAsync(session, inbox.Id, _inboxUid); // now under the INBOX's folder key
            var read = await DeliverAsync(_projects, "projects-read-before-reset");
            await ReadAsync(session, _projects, read);
            _projectsUnreadUid = await DeliverAsync(_projects, "projects-unread-before-reset"); // still under account key version 2
        }

        await R.Directory.SetPasswordAsync(Admin, Alice, ResetTo, null); // version 3, made by one administrator
        await EndorseByTwoAsync(3);
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        _keys.Dispose();
    }

    private async Task<Actor> OwnerAsync()
    {
        var account = (await R.Store.Directory.FindAccountAsync(MailAddress.Parse(Alice)))!;
        var domain = (await R.Store.Directory.FindDomainAsync(DomainName.Parse("example.test")))!;
        return Actor.ForAccount(account, domain.TenantId, "api", "127.0.0.1");
    }

    private async Task EndorseByTwoAsync(int version)
    {
        await TestOfficers.EndorseAsync(R, Alice, version, _officers.DanKey, EndorsementKind.Requester);
        Assert.Equal(KeyVersionState.Endorsed, (await TestOfficers.EndorseAsync(R, Alice, version, _officers.AliceKey, EndorsementKind.Approver)).State);
    }

    private async Task<AccountSession> LoginAsync(string password) => (AccountSession)(await R.Directory.LoginAsync(Alice, password))!.Value.Session;

    private async Task<uint> DeliverAsync(long mailboxId, string marker)
    {
        var raw = Encoding.ASCII.GetBytes($"From: <x@remote.example>\r\nTo: <{Alice}>\r\nSubject: {marker}\r\nMessage-ID: <{Guid.NewGuid():N}@remote.example>\r\n\r\n{marker}\r\n");
        return (await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(_alice, mailboxId)], DateTimeOffset.UtcNow))[0].Uid;
    }

    private async Task<string> ReadAsync(AccountSession session, long mailboxId, uint uid)
    {
        var row = (await R.Store.Mail.ListMessagesAsync(mailboxId, new UidRange(uid, uid))).Single();
        using var opened = await R.Reader.OpenAsync(session, row);
        return Encoding.ASCII.GetString(await opened.ReadAllAsync());
    }

    private async Task<long> InboxAsync() => (await R.Store.Mail.FindMailboxByRoleAsync(_alice, MailboxRole.Inbox))!.Id;

    /// <summary>What the officers do on their offline machine with two of three shares.</summary>
    private async Task<RecoveryResponse> OpenOfflineAsync(RecoveryRequest request, int shares = 2)
    {
        var split = RecoveryShares.Split(_officers.RecoveryPrivateKey, 3, 2);
        var key = RecoveryShares.Combine(split.Take(shares));
        return await RecoveryOpening.OpenAsync(request, key, _officers.Anchor.Fingerprint);
    }

    private async Task RestoreAsync()
    {
        var request = await R.KeyCustody.RequestRestoreAsync(Admin, Alice);
        await R.KeyCustody.ApplyRecoveryAsync(Admin, await OpenOfflineAsync(request));
    }

    [Fact]
    public async Task After_a_reset_the_owner_can_choose_their_own_password_with_old_mail_in_place()
    {
        await R.Directory.SetPasswordAsync(await OwnerAsync(), Alice, Own, ResetTo);
        using var session = await LoginAsync(Own);
        Assert.Equal(4, session.CurrentKeyVersion);
    }

    [Fact]
    public async Task Before_recovery_the_old_mail_does_not_open_with_the_reset_password()
    {
        using var session = await LoginAsync(ResetTo);
        await Assert.ThrowsAsync<SealpostException>(() => ReadAsync(session, _projects, _projectsUnreadUid));
        var inbox = await InboxAsync();
        await Assert.ThrowsAsync<SealpostException>(() => ReadAsync(session, inbox, _inboxUid));
    }

    [Fact]
    public async Task The_request_names_the_lost_versions_and_the_owners_newest_as_holder()
    {
        var request = await R.KeyCustody.RequestRestoreAsync(Admin, Alice);
        Assert.Equal([1, 2], request.Keys.Select(k => k.Version));
        Assert.Equal(3, request.HolderVersion);
        Assert.Equal(Alice, request.HolderAddress);
    }

    [Fact]
    public async Task After_recovery_a_message_read_before_the_reset_opens_in_the_resealed_inbox()
    {
        await RestoreAsync();
        using var session = await LoginAsync(ResetTo);
        Assert.Contains("inbox-before-reset", await ReadAsync(session, await InboxAsync(), _inboxUid));
    }

    [Fact]
    public async Task After_recovery_an_unread_message_and_its_folders_name_come_back()
    {
        await RestoreAsync();
        using var session = await LoginAsync(ResetTo);
        Assert.Contains("Projects", (await R.Mailboxes.ListAsync(_alice, session.Names)).Select(m => m.Path));
        Assert.Contains("projects-unread-before-reset", await ReadAsync(session, _projects, _projectsUnreadUid));
    }

    [Fact]
    public async Task Restored_mail_stays_readable_after_the_owner_replaces_the_reset_password()
    {
        await RestoreAsync();
        await R.Directory.SetPasswordAsync(await OwnerAsync(), Alice, Own, ResetTo); // a rotation: everything moves under version 4
        using var session = await LoginAsync(Own);
        Assert.Contains("inbox-before-reset", await ReadAsync(session, await InboxAsync(), _inboxUid));
        Assert.Contains("projects-unread-before-reset", await ReadAsync(session, _projects, _projectsUnreadUid));
    }

    [Fact]
    public async Task Recovery_also_works_after_the_owner_already_chose_a_password()
    {
        await R.Directory.SetPasswordAsync(await OwnerAsync(), Alice, Own, ResetTo);
        await RestoreAsync();
        using var session = await LoginAsync(Own);
        Assert.Contains("inbox-before-reset", await ReadAsync(session, await InboxAsync(), _inboxUid));
        Assert.Contains("projects-unread-before-reset", await ReadAsync(session, _projects, _projectsUnreadUid));
    }

    [Fact]
    public void One_share_alone_does_not_rebuild_the_recovery_key()
    {
        var split = RecoveryShares.Split(_officers.RecoveryPrivateKey, 3, 2);
        Assert.Contains("needs 2", Assert.Throws<SealpostException>(() => RecoveryShares.Combine(split.Take(1))).Message);
    }

    [Fact]
    public void A_share_of_another_recovery_key_is_refused_before_combining()
    {
        var ours = RecoveryShares.Split(_officers.RecoveryPrivateKey, 3, 2);
        var theirs = RecoveryShares.Split(Sealpost.Crypto.Primitives.Hpke.GenerateKeyPair().PrivateKey, 3, 2);
        Assert.Contains("another recovery key", Assert.Throws<SealpostException>(() => RecoveryShares.Combine([ours[0], theirs[1]])).Message);
    }

    [Fact]
    public async Task The_offline_machine_refuses_a_request_under_another_anchor()
    {
        var request = await R.KeyCustody.RequestRestoreAsync(Admin, Alice);
        var key = RecoveryShares.Combine(RecoveryShares.Split(_officers.RecoveryPrivateKey, 2, 2));
        var refused = await Assert.ThrowsAsync<SealpostException>(() => RecoveryOpening.OpenAsync(request, key, "sha256:" + new string('0', 64)));
        Assert.Contains("not the one you pinned", refused.Message);
    }

    [Fact]
    public async Task The_offline_machine_refuses_a_holder_key_an_operator_substituted()
    {
        var request = await R.KeyCustody.RequestRestoreAsync(Admin, Alice);
        var (_, forged) = Sealpost.Crypto.Primitives.Hpke.GenerateKeyPair();
        var tampered = request with { HolderRing = request.HolderRing.Select(e => e.Version == request.HolderVersion ? e with { PublicKey = forged } : e).ToList() };
        var refused = await Assert.ThrowsAsync<SealpostException>(() => OpenOfflineAsync(tampered));
        Assert.Contains("is not endorsed", refused.Message);
    }

    [Fact]
    public async Task The_offline_machine_refuses_a_restore_handed_to_another_account()
    {
        var request = await R.KeyCustody.RequestRestoreAsync(Admin, Alice);
        var refused = await Assert.ThrowsAsync<SealpostException>(() => OpenOfflineAsync(request with { HolderAddress = "mallory@example.test", HolderAccountId = _alice + 1 }));
        Assert.Contains("same account only", refused.Message);
    }

    [Fact]
    public async Task A_response_is_applied_once()
    {
        var response = await OpenOfflineAsync(await R.KeyCustody.RequestRestoreAsync(Admin, Alice));
        await R.KeyCustody.ApplyRecoveryAsync(Admin, response);
        var again = await Assert.ThrowsAsync<SealpostException>(() => R.KeyCustody.ApplyRecoveryAsync(Admin, response));
        Assert.Equal(ErrorKind.NotFound, again.Kind);
    }

    [Fact]
    public async Task A_response_to_a_stale_request_is_refused_after_the_owner_rotated()
    {
        var response = await OpenOfflineAsync(await R.KeyCustody.RequestRestoreAsync(Admin, Alice));
        await R.Directory.SetPasswordAsync(await OwnerAsync(), Alice, Own, ResetTo);
        var refused = await Assert.ThrowsAsync<SealpostException>(() => R.KeyCustody.ApplyRecoveryAsync(Admin, response));
        Assert.Contains("export a new request", refused.Message);
    }

    [Fact]
    public async Task The_owner_cannot_request_or_apply_recovery_themselves()
    {
        var owner = await OwnerAsync();
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.KeyCustody.RequestRestoreAsync(owner, Alice))).Kind);
        var response = await OpenOfflineAsync(await R.KeyCustody.RequestRestoreAsync(Admin, Alice));
        Assert.Equal(ErrorKind.Forbidden, (await Assert.ThrowsAsync<SealpostException>(() => R.KeyCustody.ApplyRecoveryAsync(owner, response))).Kind);
    }

    [Fact]
    public async Task Request_and_apply_are_in_the_audit_trail()
    {
        await RestoreAsync();
        var records = await R.Audit.Store.SearchAsync(new Sealpost.Core.Audit.AuditQuery(Limit: 10_000));
        Assert.Contains(records, r => r.Event.Action == Sealpost.Core.Audit.AuditAction.RecoveryRequested && r.Event.Detail!.Contains("versions 1,2 to version 3"));
        Assert.Contains(records, r => r.Event.Action == Sealpost.Core.Audit.AuditAction.RecoveryApplied && r.Event.Detail!.Contains("versions 1,2 handed back"));
    }
}
