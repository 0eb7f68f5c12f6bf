using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;
using Sealpost.Crypto.Vault;
using Sealpost.Domain;
using Sealpost.Server;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Vault;

/// <summary>
/// Who may make an access grant happen: two different security officers of the trust anchor sign its
/// very terms (neither the requester); the officers' offline machine checks those signatures again, so
/// an operator who edits a request or drops an approval gets nothing sealed.
/// </summary>
public sealed class AccessGrantRulesTests : IAsyncLifetime
{
    private const string Carol = "carol@example.test";
    private const string Greg = "greg@example.test";
    private TempFolder _keys = null!;
    private TestOfficers _officers = null!;
    private TestRuntime _test = null!;

    private SealpostRuntime R => _test.Runtime;

    private static Actor Admin => SealpostRuntime.LocalAdministrator;

    private static Actor Officer => Actor.Officers("officer", "laptop");

    public async Task InitializeAsync()
    {
        _keys = new TempFolder("sealpost-grant-rules");
        _officers = TestOfficers.Create(_keys.Path);
        _test = await TestRuntime.CreateAsync(officers: _officers);
        foreach (var address in new[] { Carol, Greg })
        {
            await R.Directory.AddUserAsync(Admin, address, address + " passphrase", null, 0);
            await TestOfficers.EndorseAsync(R, address, 1, _officers.DanKey, EndorsementKind.Requester);
            await TestOfficers.EndorseAsync(R, address, 1, _officers.BobKey, EndorsementKind.Approver);
        }
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        _keys.Dispose();
    }

    private Task<AccessGrantView> RequestAsync(string justification = "case 7: an ordered review of one mailbox", TimeSpan? window = null) =>
        R.AccessGrants.RequestAsync(Admin, Greg, Carol, justification, null, DateTimeOffset.UtcNow + (window ?? TimeSpan.FromDays(1)));

    private static GrantApproval Sign(string keyFile, byte[] payload)
    {
        using var key = PersonalKey.Load(keyFile);
        return new GrantApproval("", key.PublicKey, key.Sign(payload));
    }

    private Task<AccessGrantView> ApproveAsync(AccessGrantView grant, string keyFile, Actor? by = null) =>
        R.AccessGrants.ApproveAsync(by ?? Officer, grant.Id, Sign(keyFile, AccessGrantService.ApprovalPayload(grant)));

    private async Task<RecoveryRequest> ApprovedRequestAsync()
    {
        var grant = await RequestAsync();
        await ApproveAsync(grant, _officers.AliceKey);
        await ApproveAsync(grant, _officers.BobKey);
        return await R.KeyCustody.RequestGrantKeysAsync(Admin, grant.Id);
    }

    private Task<RecoveryResponse> OpenOfflineAsync(RecoveryRequest request) =>
        RecoveryOpening.OpenAsync(request, _officers.RecoveryPrivateKey, _officers.Anchor.Fingerprint);

    [Fact]
    public async Task One_approval_leaves_the_grant_waiting_and_a_second_officers_approves_it()
    {
        var grant = await RequestAsync();
        Assert.Equal(AccessGrantState.Requested, (await ApproveAsync(grant, _officers.AliceKey)).State);
        Assert.Equal(AccessGrantState.Approved, (await ApproveAsync(grant, _officers.ErinKey)).State);
    }

    [Fact]
    public async Task One_officer_cannot_approve_twice()
    {
        var grant = await RequestAsync();
        await ApproveAsync(grant, _officers.AliceKey);
        var refused = await Assert.ThrowsAsync<SealpostException>(() => ApproveAsync(grant, _officers.AliceKey));
        Assert.Contains("approved this grant already", refused.Message);
    }

    [Fact]
    public async Task The_requester_cannot_hand_in_an_approval()
    {
        var grant = await RequestAsync();
        var refused = await Assert.ThrowsAsync<SealpostException>(() => ApproveAsync(grant, _officers.AliceKey, by: Admin with { Roles = new HashSet<Role> { Role.SecurityOfficer } }));
        Assert.Contains("requester of a grant cannot approve it", refused.Message);
    }

    [Fact]
    public async Task An_administrators_signature_is_no_approval()
    {
        var grant = await RequestAsync();
        var refused = await Assert.ThrowsAsync<SealpostException>(() => ApproveAsync(grant, _officers.DanKey));
        Assert.Contains("not a security officer", refused.Message);
    }

    [Fact]
    public async Task A_signature_over_other_terms_is_refused()
    {
        var grant = await RequestAsync();
        var other = await RequestAsync("case 8: a different review altogether");
        var refused = await Assert.ThrowsAsync<SealpostException>(() => R.AccessGrants.ApproveAsync(Officer, grant.Id, Sign(_officers.AliceKey, AccessGrantService.ApprovalPayload(other))));
        Assert.Contains("not over these terms", refused.Message);
    }

    [Fact]
    public async Task A_grant_with_one_approval_does_not_go_to_the_offline_machine()
    {
        var grant = await RequestAsync();
        await ApproveAsync(grant, _officers.AliceKey);
        var refused = await Assert.ThrowsAsync<SealpostException>(() => R.KeyCustody.RequestGrantKeysAsync(Admin, grant.Id));
        Assert.Equal(ErrorKind.Conflict, refused.Kind);
    }

    [Fact]
    public async Task The_offline_machine_seals_an_approved_grants_keys_to_the_grantee()
    {
        var request = await ApprovedRequestAsync();
        var response = await OpenOfflineAsync(request);
        Assert.Equal(request.HolderAccountId, response.HolderAccountId);
        Assert.Equal(request.Keys.Select(k => k.Version), response.Keys.Select(k => k.Version));
    }

    [Fact]
    public async Task The_offline_machine_refuses_a_request_whose_grantee_was_changed()
    {
        var request = await ApprovedRequestAsync();
        var carol = request.AccountId;
        var tampered = request with { HolderAccountId = carol + 100 };
        await Assert.ThrowsAsync<SealpostException>(() => OpenOfflineAsync(tampered));
    }

    [Fact]
    public async Task The_offline_machine_refuses_a_request_whose_window_was_stretched()
    {
        var request = await ApprovedRequestAsync();
        var tampered = request with { Grant = request.Grant! with { ExpiresAt = request.Grant.ExpiresAt.AddDays(30) } };
        var refused = await Assert.ThrowsAsync<SealpostException>(() => OpenOfflineAsync(tampered));
        Assert.Contains("not over these terms", refused.Message);
    }

    [Fact]
    public async Task The_offline_machine_refuses_a_request_with_one_approval_left()
    {
        var request = await ApprovedRequestAsync();
        var tampered = request with { Grant = request.Grant! with { Approvals = request.Grant.Approvals.Take(1).ToList() } };
        var refused = await Assert.ThrowsAsync<SealpostException>(() => OpenOfflineAsync(tampered));
        Assert.Contains("two different officers", refused.Message);
    }

    [Fact]
    public async Task The_offline_machine_refuses_the_same_officer_counted_twice()
    {
        var request = await ApprovedRequestAsync();
        var tampered = request with { Grant = request.Grant! with { Approvals = [request.Grant.Approvals[0], request.Grant.Approvals[0]] } };
        var refused = await Assert.ThrowsAsync<SealpostException>(() => OpenOfflineAsync(tampered));
        Assert.Contains("two different officers", refused.Message);
    }

    [Theory]
    [InlineData("too short", 1, "justification")]
    [InlineData("case 9: an ordered review of one mailbox", 91, "at most 90 days")]
    public async Task A_bad_request_is_one_clear_error(string justification, int days, string message)
    {
        var refused = await Assert.ThrowsAsync<SealpostException>(() => RequestAsync(justification, TimeSpan.FromDays(days)));
        Assert.Contains(message, refused.Message);
    }

    [Fact]
    public async Task Nobody_is_granted_their_own_mailbox()
    {
        var refused = await Assert.ThrowsAsync<SealpostException>(() => R.AccessGrants.RequestAsync(Admin, Carol, Carol, "case 10: the owner themselves", null, DateTimeOffset.UtcNow.AddDays(1)));
        Assert.Equal(ErrorKind.InvalidInput, refused.Kind);
    }

    [Fact]
    public async Task A_grant_request_keeps_no_plaintext_key_and_its_justification_is_only_in_the_grant_row()
    {
        var grant = await RequestAsync();
        var stored = (await R.Store.Directory.GetAccessGrantAsync(grant.Id))!;
        Assert.Empty(stored.Wraps);
        Assert.Equal(grant.Justification, stored.Justification);
    }
}
