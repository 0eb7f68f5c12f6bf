using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Crypto.Vault;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Cli;

/// <summary>
/// 'sealpost sign' on an officer's own machine (no server, no data folder): the request slips the
/// console shows are signed with a personal key, the server takes the answer for the version or grant
/// as stored and refuses one whose terms were changed on the way; bad slips are one-line errors.
/// </summary>
public sealed class SignSlipCliTests : IAsyncLifetime
{
    private const string Carol = "carol@example.test";
    private readonly TempFolder _keys = new("sealpost-sign-slips");
    private TestOfficers _officers = null!;
    private TestRuntime _test = null!;

    private Sealpost.Server.SealpostRuntime R => _test.Runtime;

    private static Actor Admin => Sealpost.Server.SealpostRuntime.LocalAdministrator;

    public async Task InitializeAsync()
    {
        _officers = TestOfficers.Create(_keys.Path);
        _test = await TestRuntime.CreateAsync(officers: _officers);
        await R.Directory.AddUserAsync(Admin, Carol, "carol's first passphrase", null, 0);
    }

    public async Task DisposeAsync()
    {
        await _test.DisposeAsync();
        _keys.Dispose();
    }

    private static Task<CliResult> SignAsync(params string[] args) => CliRunner.RunOfflineAsync("", ["sign", .. args]);

    private async Task<Sealpost.Domain.KeyVersionView> CarolsVersionAsync() => (await R.KeyCustody.ListKeyVersionsAsync(Admin, Carol, false)).Single();

    private static string RequestSlip(Sealpost.Domain.KeyVersionView v) =>
        SigningSlips.Write(SigningSlips.EndorseRequestPrefix, new EndorseRequestSlip(v.Address, v.AccountId, v.Version, v.PublicKey, v.SigningPublicKey));

    private async Task<Sealpost.Domain.KeyVersionView> HandInAsync(string printed)
    {
        var slip = SigningSlips.Read<EndorsementSlip>(SigningSlips.EndorsementPrefix, printed);
        return await R.KeyCustody.EndorseAsync(Admin, slip.Address, slip.Version, slip.Endorsement);
    }

    [Fact]
    public async Task A_requester_and_an_approver_signing_slips_offline_endorse_the_version()
    {
        var v = await CarolsVersionAsync();
        var requested = await SignAsync(RequestSlip(v), "--key", _officers.DanKey, "--as", "requester", "--fingerprint", v.Fingerprint);
        Assert.Equal(0, requested.ExitCode);
        Assert.Contains(v.Fingerprint, requested.Err);
        await HandInAsync(requested.Out.Trim());
        var approved = await SignAsync(RequestSlip(v), "--key", _officers.BobKey, "--as", "approver");
        Assert.Equal(KeyVersionState.Endorsed, (await HandInAsync(approved.Out.Trim())).State);
    }

    [Fact]
    public async Task A_slip_whose_key_was_swapped_on_the_way_gets_a_signature_the_server_refuses()
    {
        var v = await CarolsVersionAsync();
        var forged = v with { PublicKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32) };
        var signed = await SignAsync(RequestSlip(forged), "--key", _officers.BobKey, "--as", "approver");
        var refused = await Assert.ThrowsAsync<SealpostException>(() => HandInAsync(signed.Out.Trim()));
        Assert.Equal(ErrorKind.InvalidInput, refused.Kind);
        Assert.Equal(KeyVersionState.Pending, (await CarolsVersionAsync()).State);
    }

    [Fact]
    public async Task A_grant_slip_signed_offline_is_an_approval_of_the_grant_as_stored()
    {
        await R.Directory.AddUserAsync(Admin, "investigator@example.test", "investigator's passphrase", null, 0);
        var grant = await R.AccessGrants.RequestAsync(Admin, "investigator@example.test", Carol, "case 2026-410: ordered review", null, DateTimeOffset.UtcNow.AddDays(1));
        var slip = SigningSlips.Write(SigningSlips.GrantRequestPrefix, new GrantRequestSlip(grant.Id, grant.Grantee, grant.GranteeAccountId, grant.Mailbox, grant.TargetAccountId,
            grant.NotBefore, grant.ExpiresAt, grant.Justification, grant.RequestedBy));
        var signed = await SignAsync(slip, "--key", _officers.AliceKey);
        Assert.Contains("case 2026-410", signed.Err);
        var approval = SigningSlips.Read<GrantApprovalSlip>(SigningSlips.GrantApprovalPrefix, signed.Out.Trim());
        var approved = await R.AccessGrants.ApproveAsync(Actor.Officers("officer", "laptop"), approval.Id, new GrantApproval("", approval.Signer, approval.Signature));
        Assert.Equal(["Alice"], approved.ApprovedBy);
    }

    [Fact]
    public async Task A_grant_slip_with_a_longer_window_than_requested_is_refused()
    {
        await R.Directory.AddUserAsync(Admin, "snoop@example.test", "snoop's passphrase", null, 0);
        var grant = await R.AccessGrants.RequestAsync(Admin, "snoop@example.test", Carol, "case 2026-411", null, DateTimeOffset.UtcNow.AddDays(1));
        var stretched = SigningSlips.Write(SigningSlips.GrantRequestPrefix, new GrantRequestSlip(grant.Id, grant.Grantee, grant.GranteeAccountId, grant.Mailbox, grant.TargetAccountId,
            grant.NotBefore, grant.ExpiresAt.AddDays(60), grant.Justification, grant.RequestedBy));
        var approval = SigningSlips.Read<GrantApprovalSlip>(SigningSlips.GrantApprovalPrefix, (await SignAsync(stretched, "--key", _officers.AliceKey)).Out.Trim());
        await Assert.ThrowsAsync<SealpostException>(() => R.AccessGrants.ApproveAsync(Actor.Officers("officer", "laptop"), approval.Id, new GrantApproval("", approval.Signer, approval.Signature)));
        Assert.Empty((await R.AccessGrants.GetAsync(Admin, grant.Id)).ApprovedBy);
    }

    public static TheoryData<string, string[], string> BadInvocations() => new()
    {
        { "not a slip", ["hello", "--as", "approver"], "should start with" },
        { "a damaged slip", [SigningSlips.EndorseRequestPrefix + "%%%", "--as", "approver"], "damaged" },
        { "a slip of JSON that is not a request", [SigningSlips.EndorseRequestPrefix + "eyJ4IjoxfQ", "--as", "approver"], "damaged" },
        { "no role for a key version", [SigningSlips.Write(SigningSlips.EndorseRequestPrefix, new EndorseRequestSlip(Carol, 1, 1, new byte[32], null))], "--as requester or --as approver" },
        { "a fingerprint that does not match", [SigningSlips.Write(SigningSlips.EndorseRequestPrefix, new EndorseRequestSlip(Carol, 1, 1, new byte[32], null)), "--as", "approver", "--fingerprint", "sha256:00"], "not signed" },
    };

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public async Task A_bad_slip_or_option_is_a_one_line_error(string _, string[] args, string fragment)
    {
        var result = await SignAsync([.. args, "--key", _officers.BobKey]);
        result.AssertCleanError(1, fragment);
        Assert.Equal("", result.Out);
    }
}
