using System.Security.Cryptography;
using System.Text;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Addressing;
using Sealpost.Core.Directory;
using Sealpost.Core.Mail;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;
using Sealpost.Domain;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// Key versions nobody forges alone, on a data folder whose trust anchor the officers made on their
/// own machines (no officer key anywhere on the node): what mail is sealed to, what waits, what is
/// refused, and what the service accepts as a signature.
/// </summary>
public sealed class KeyVersionTrustTests : IAsyncLifetime
{
    private const string Alice = "alice@example.test";
    private TempFolder _keys = null!;
    private TestOfficers _officers = null!;
    private TestRuntime _test = null!;

    private SealpostRuntime R => _test.Runtime;

    public async Task InitializeAsync()
    {
        _keys = new TempFolder("sealpost-officers");
        _officers = TestOfficers.Create(_keys.Path);
        _test = await TestRuntime.CreateAsync(officers: _officers);
        await R.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, Alice, "set by the administrator", null, 0);
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        _keys.Dispose();
    }

    private async Task<Account> AccountAsync() => (await R.Store.Directory.FindAccountAsync(MailAddress.Parse(Alice)))!;

    private async Task<KeyVersionView> VersionAsync(int version) =>
        (await R.KeyCustody.ListKeyVersionsAsync(SealpostRuntime.LocalAdministrator, Alice, false)).Single(v => v.Version == version);

    private Task<KeyVersionView> EndorseAsync(string keyFile, EndorsementKind kind, int version = 1) => TestOfficers.EndorseAsync(R, Alice, version, keyFile, kind);

    private async Task EndorseByTwoAsync(int version = 1)
    {
        await EndorseAsync(_officers.DanKey, EndorsementKind.Requester, version);
        Assert.Equal(KeyVersionState.Endorsed, (await EndorseAsync(_officers.AliceKey, EndorsementKind.Approver, version)).State);
    }

    /// <summary>Delivers one message and returns the key version its content key was wrapped to.</summary>
    private async Task<int> DeliverAsync()
    {
        var account = await AccountAsync();
        var inbox = (await R.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!.Id;
        var raw = Encoding.ASCII.GetBytes($"From: <x@remote.example>\r\nTo: <{Alice}>\r\nSubject: s\r\nMessage-ID: <{Guid.NewGuid():N}@remote.example>\r\n\r\nbody\r\n");
        var uid = (await R.Delivery.DeliverAsync(raw, [new DeliveryTarget(account.Id, inbox)], DateTimeOffset.UtcNow))[0].Uid;
        var message = (await R.Store.Mail.ListMessagesAsync(inbox, new UidRange(uid, uid))).Single();
        return ContentKeyWrap.Describe(message.WrappedKey).KeyVersion;
    }

    /// <summary>What root with the master key can do: write a key version row of its own making.</summary>
    private async Task<(int Version, byte[] PrivateKey)> ForgeVersionAsync(Func<long, int, byte[], byte[], byte[]> proof)
    {
        var account = await AccountAsync();
        var version = (await R.Store.Directory.ListAccountKeysAsync(account.Id)).Max(k => k.Version) + 1;
        var (privateKey, publicKey) = Hpke.GenerateKeyPair();
        var signingPublic = KeyVersionProof.SigningPublicKeyOf(account.Id, version, privateKey);
        await R.Store.Directory.ApplyKeyRingChangeAsync(new KeyRingChange(account.Id)
        {
            NewKey = new AccountKey(account.Id, version, publicKey, proof(account.Id, version, publicKey, signingPublic), DateTimeOffset.UtcNow),
        });
        return (version, privateKey);
    }

    private bool Logged(string fragment) => _test.Logs.ToString().Contains(fragment, StringComparison.Ordinal);

    [Fact]
    public async Task A_new_accounts_first_version_waits_for_two_people_and_its_mail_is_deferred()
    {
        Assert.Equal(KeyVersionState.Pending, (await VersionAsync(1)).State);
        var deferred = await Assert.ThrowsAsync<SealpostException>(DeliverAsync);
        Assert.Equal(ErrorKind.TemporarilyUnavailable, deferred.Kind);
        Assert.True(Logged("its newest key version is not endorsed"));
    }

    [Fact]
    public async Task A_requesters_signature_alone_leaves_the_version_pending()
    {
        var view = await EndorseAsync(_officers.DanKey, EndorsementKind.Requester);
        Assert.Equal(KeyVersionState.Pending, view.State);
        Assert.Contains("waits for an officer's approval", view.Reason);
        await Assert.ThrowsAsync<SealpostException>(DeliverAsync);
    }

    [Fact]
    public async Task A_requester_and_a_different_approving_officer_endorse_it_and_mail_is_sealed_to_it()
    {
        await EndorseByTwoAsync();
        Assert.Equal(1, await DeliverAsync());
        Assert.Contains("requested by Dan, approved by Alice", (await VersionAsync(1)).Reason);
    }

    [Fact]
    public async Task The_owners_own_change_makes_a_version_signed_by_the_previous_one()
    {
        await EndorseByTwoAsync();
        var account = await AccountAsync();
        var domain = (await R.Store.Directory.FindDomainAsync(DomainName.Parse("example.test")))!;
        await R.Directory.SetPasswordAsync(Actor.ForAccount(account, domain.TenantId, "api", "127.0.0.1"), Alice, "only alice knows this", "set by the administrator");
        var v2 = await VersionAsync(2);
        Assert.Equal(KeyVersionState.Endorsed, v2.State);
        Assert.Equal("signed by version 1", v2.Reason);
        Assert.Equal(2, await DeliverAsync());
    }

    [Fact]
    public async Task A_version_made_before_endorsements_is_endorsed_by_two_people_and_its_successor_waits_for_them_too()
    {
        var account = await AccountAsync();
        var v1 = (await R.Store.Directory.ListAccountKeysAsync(account.Id)).Single();
        Assert.True(await R.Store.Directory.ReplaceAccountKeyProofAsync(account.Id, 1, v1.Signature, RandomNumberGenerator.GetBytes(64))); // an older release's directory signature
        Assert.Contains("made before key versions were endorsed", (await VersionAsync(1)).Reason);
        await EndorseByTwoAsync();
        Assert.Equal(1, await DeliverAsync());

        // It has no signing key to chain from: the owner's change makes a version that waits, not a refused one.
        var domain = (await R.Store.Directory.FindDomainAsync(DomainName.Parse("example.test")))!;
        await R.Directory.SetPasswordAsync(Actor.ForAccount(account, domain.TenantId, "api", "127.0.0.1"), Alice, "only alice knows this", "set by the administrator");
        Assert.Equal(KeyVersionState.Pending, (await VersionAsync(2)).State);
        Assert.Equal(ErrorKind.TemporarilyUnavailable, (await Assert.ThrowsAsync<SealpostException>(DeliverAsync)).Kind);
        Assert.False(Logged("Security: key version"));
        await EndorseByTwoAsync(2);
        Assert.Equal(2, await DeliverAsync());
    }

    [Fact]
    public async Task A_reset_version_waits_for_two_people_and_mail_waits_with_it()
    {
        await EndorseByTwoAsync();
        await R.Directory.SetPasswordAsync(SealpostRuntime.LocalAdministrator, Alice, "reset by the administrator", null);
        Assert.Equal(KeyVersionState.Pending, (await VersionAsync(2)).State);

        // Not to version 2, which nobody vouched for; not to version 1, which only recovery opens now.
        Assert.Equal(ErrorKind.TemporarilyUnavailable, (await Assert.ThrowsAsync<SealpostException>(DeliverAsync)).Kind);

        // The reset's own notice is sealed to the version made in this process, which the new password opens.
        var account = await AccountAsync();
        var inbox = (await R.Store.Mail.FindMailboxByRoleAsync(account.Id, MailboxRole.Inbox))!.Id;
        var notice = (await R.Store.Mail.ListMessagesAsync(inbox, UidRange.All)).Single();
        Assert.Equal(2, ContentKeyWrap.Describe(notice.WrappedKey).KeyVersion);

        await EndorseByTwoAsync(2);
        Assert.Equal(2, await DeliverAsync());
    }

    [Fact]
    public async Task The_service_refuses_an_administrator_as_approver()
    {
        var refused = await Assert.ThrowsAsync<SealpostException>(() => EndorseAsync(_officers.DanKey, EndorsementKind.Approver));
        Assert.Equal(ErrorKind.Forbidden, refused.Kind);
        Assert.Contains("only officers approve", refused.Message);
    }

    [Fact]
    public async Task The_service_refuses_one_person_in_both_roles()
    {
        await EndorseAsync(_officers.AliceKey, EndorsementKind.Requester);
        var refused = await Assert.ThrowsAsync<SealpostException>(() => EndorseAsync(_officers.AliceKey, EndorsementKind.Approver));
        Assert.Contains("two different people", refused.Message);
        Assert.Equal(KeyVersionState.Pending, (await VersionAsync(1)).State);
    }

    [Fact]
    public async Task The_service_refuses_a_signer_outside_the_anchor()
    {
        var mallory = _keys.Sub("mallory.key");
        PersonalKey.Generate(mallory, _keys.Sub("mallory.pub"));
        var refused = await Assert.ThrowsAsync<SealpostException>(() => EndorseAsync(mallory, EndorsementKind.Requester));
        Assert.Contains("not in the trust anchor", refused.Message);
    }

    [Fact]
    public async Task The_service_refuses_a_signature_over_another_version()
    {
        var v = await VersionAsync(1);
        using var dan = PersonalKey.Load(_officers.DanKey);
        var other = KeyTrust.Sign(dan, EndorsementKind.Requester, v.AccountId, 1, RandomNumberGenerator.GetBytes(32), v.SigningPublicKey!);
        var refused = await Assert.ThrowsAsync<SealpostException>(() => R.KeyCustody.EndorseAsync(SealpostRuntime.LocalAdministrator, Alice, 1, other));
        Assert.Contains("is not over", refused.Message);
    }

    [Fact]
    public async Task Every_endorsement_is_in_the_audit_trail()
    {
        await EndorseByTwoAsync();
        var records = await R.Audit.Store.SearchAsync(new Sealpost.Core.Audit.AuditQuery(Action: Sealpost.Core.Audit.AuditAction.KeyVersionEndorsed));
        Assert.Equal(["requester Dan; now pending", "approver Alice; now endorsed"], records.Select(r => r.Event.Detail![(r.Event.Detail!.IndexOf("; ", StringComparison.Ordinal) + 2)..]));
    }

    // ---- what root with every file and the master key can write ----

    [Fact]
    public async Task A_version_endorsed_by_keys_root_made_is_refused_and_logged()
    {
        await EndorseByTwoAsync();
        using var m1 = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        using var m2 = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        var (version, _) = await ForgeVersionAsync((id, v, pub, sig) => new KeyVersionProof(sig, [
            KeyTrust.Sign(m1, EndorsementKind.Requester, id, v, pub, sig), KeyTrust.Sign(m2, EndorsementKind.Approver, id, v, pub, sig)]).Encode());
        Assert.Equal(1, await DeliverAsync());
        Assert.Equal(KeyVersionState.Refused, (await VersionAsync(version)).State);
        Assert.True(Logged($"Security: key version {version} of account"));
    }

    [Fact]
    public async Task A_version_claiming_the_previous_versions_signature_with_another_key_is_refused()
    {
        await EndorseByTwoAsync();
        using var stray = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        var (version, _) = await ForgeVersionAsync((id, v, pub, sig) => new KeyVersionProof(sig, [KeyTrust.Sign(stray, EndorsementKind.PreviousVersion, id, v, pub, sig)]).Encode());
        Assert.Equal(1, await DeliverAsync());
        Assert.Contains("signed by another key", (await VersionAsync(version)).Reason);
    }

    [Fact]
    public async Task A_version_signed_by_one_officer_in_both_roles_is_refused_and_logged()
    {
        await EndorseByTwoAsync();
        using var alice = PersonalKey.Load(_officers.AliceKey);
        var (version, _) = await ForgeVersionAsync((id, v, pub, sig) => new KeyVersionProof(sig, [
            KeyTrust.Sign(alice, EndorsementKind.Requester, id, v, pub, sig), KeyTrust.Sign(alice, EndorsementKind.Approver, id, v, pub, sig)]).Encode());
        Assert.Equal(1, await DeliverAsync());
        Assert.Contains("one person signed as both", (await VersionAsync(version)).Reason);
        Assert.True(Logged("one person signed as both requester and approver"));
    }

    [Fact]
    public async Task A_version_signed_by_the_directory_key_is_not_sealed_to()
    {
        await EndorseByTwoAsync();
        // The old rule: a directory signature from the keystore, which root holds under auto-unseal. The
        // version waits for two people (officers see it in 'keys list --pending'); mail waits with it.
        using var directory = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        var (version, _) = await ForgeVersionAsync((_, _, pub, _) => directory.Sign(pub));
        Assert.Equal(ErrorKind.TemporarilyUnavailable, (await Assert.ThrowsAsync<SealpostException>(DeliverAsync)).Kind);
        Assert.Equal(KeyVersionState.Pending, (await VersionAsync(version)).State);
    }

    [Fact]
    public async Task A_recovery_key_root_adds_to_the_database_gets_no_wrap()
    {
        var (rootPrivate, rootPublic) = Hpke.GenerateKeyPair();
        await R.Store.Directory.AddRecoveryKeyAsync(new RecoveryKey(2, rootPublic, R.Keystore.SignRecoveryKey(2, rootPublic), DateTimeOffset.UtcNow));
        var bob = await R.Directory.AddUserAsync(SealpostRuntime.LocalAdministrator, "bob@example.test", "set by the administrator", null, 0);
        var wrap = Assert.Single(await R.Store.Directory.ListRecoveryWrapsAsync(bob.Id));
        Assert.Equal(1, wrap.RecoveryKeyVersion);
        Assert.ThrowsAny<CryptographicException>(() => AccountVault.OpenRecoveryWrap(rootPrivate, wrap));
        Assert.Equal(32, AccountVault.OpenRecoveryWrap(_officers.RecoveryPrivateKey, wrap).Length);
        Assert.True(Logged("recovery key version 2 in the database is not in the officers' trust anchor"));
    }

    [Fact]
    public async Task A_trust_anchor_root_seals_in_its_place_is_not_taken_by_the_running_node()
    {
        await EndorseByTwoAsync();
        using var m1 = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        using var m2 = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        var forged = new TrustAnchor(1, 2, [new TrustPerson("M1", TrustPerson.Officer, m1.PublicKey), new TrustPerson("M2", TrustPerson.Officer, m2.PublicKey)],
            _officers.Anchor.RecoveryKeys, null, []).SignedBy(m1).SignedBy(m2);
        await R.Keystore.PutSecretAsync(KeyTrust.AnchorsEntry, Encoding.UTF8.GetBytes(TrustAnchor.ChainToJson([forged])));
        R.Trust.RefreshInterval = TimeSpan.Zero; // the node reads the stored chain again at its next check
        var (version, _) = await ForgeVersionAsync((id, v, pub, sig) => new KeyVersionProof(sig, [
            KeyTrust.Sign(m1, EndorsementKind.Requester, id, v, pub, sig), KeyTrust.Sign(m2, EndorsementKind.Approver, id, v, pub, sig)]).Encode());
        Assert.Equal(1, await DeliverAsync());
        Assert.Equal(KeyVersionState.Refused, (await VersionAsync(version)).State);
        Assert.Equal(_officers.Anchor.Fingerprint, R.Trust.PinnedFingerprint);
        Assert.True(Logged("Security: trust anchor generation 1"));
    }

    [Fact]
    public async Task A_trust_anchor_substituted_before_a_restart_fails_the_audit_verification()
    {
        using var m1 = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        using var m2 = new PersonalKey(RandomNumberGenerator.GetBytes(32));
        var forged = new TrustAnchor(1, 2, [new TrustPerson("M1", TrustPerson.Officer, m1.PublicKey), new TrustPerson("M2", TrustPerson.Officer, m2.PublicKey)],
            _officers.Anchor.RecoveryKeys, null, []).SignedBy(m1).SignedBy(m2);
        await R.Keystore.PutSecretAsync(KeyTrust.AnchorsEntry, Encoding.UTF8.GetBytes(TrustAnchor.ChainToJson([forged])));
        await using var restarted = await _test.ReopenAsync();
        Assert.Equal(forged.Fingerprint, restarted.Trust.PinnedFingerprint);
        var check = await restarted.AuditService.VerifyAsync(Actor.Officers("officer", "test"), []);
        Assert.False(check.Ok);
        Assert.Contains($"trust anchor generation 1 {forged.Fingerprint} has no audit record", check.Message);
    }
}
