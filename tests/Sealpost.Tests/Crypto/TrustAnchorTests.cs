using Sealpost.Core;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Crypto;

/// <summary>The officers' trust anchor chain: who signs which generation, and what a change needs.</summary>
public sealed class TrustAnchorTests : IDisposable
{
    private readonly TempFolder _folder = new("sealpost-anchor");
    private readonly TestOfficers _officers;
    private readonly PersonalKey _alice, _bob, _erin, _dan, _mallory;

    public TrustAnchorTests()
    {
        _officers = TestOfficers.Create(_folder.Path);
        _alice = PersonalKey.Load(_officers.AliceKey);
        _bob = PersonalKey.Load(_officers.BobKey);
        _erin = PersonalKey.Load(_officers.ErinKey);
        _dan = PersonalKey.Load(_officers.DanKey);
        _mallory = new PersonalKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    }

    public void Dispose()
    {
        foreach (var key in new[] { _alice, _bob, _erin, _dan, _mallory })
        {
            key.Dispose();
        }

        _folder.Dispose();
    }

    private TrustAnchor Genesis => _officers.Anchor;

    private TrustAnchor Next(params PersonalKey[] signers)
    {
        var next = Genesis with { Generation = 2, Previous = Genesis.Fingerprint, Signatures = [], People = [.. Genesis.People, new TrustPerson("Frank", TrustPerson.Admin, _mallory.PublicKey)] };
        return signers.Aggregate(next, (anchor, key) => anchor.SignedBy(key));
    }

    [Fact]
    public void The_officers_genesis_verifies() => Assert.Null(TrustAnchor.CheckChain([Genesis]));

    [Fact]
    public void A_genesis_with_one_officers_signature_is_refused() =>
        Assert.Contains("fewer than 2", TrustAnchor.CheckChain([Genesis with { Signatures = [Genesis.Signatures[0]] }]));

    [Fact]
    public void A_genesis_signed_twice_by_one_officer_counts_once() =>
        Assert.Contains("fewer than 2", TrustAnchor.CheckChain([Genesis with { Signatures = [Genesis.Signatures[0], Genesis.Signatures[0]] }]));

    [Fact]
    public void An_administrators_signature_does_not_count_for_a_change() =>
        Assert.Contains("fewer than 2", TrustAnchor.CheckChain([(Genesis with { Signatures = [] }).SignedBy(_alice).SignedBy(_dan)]));

    [Fact]
    public void A_genesis_changed_after_signing_is_refused() =>
        Assert.Contains("fewer than 3", TrustAnchor.CheckChain([Genesis with { Threshold = 3 }]));

    [Fact]
    public void A_next_generation_signed_by_two_current_officers_verifies() => Assert.Null(TrustAnchor.CheckChain([Genesis, Next(_bob, _erin)]));

    [Fact]
    public void A_next_generation_signed_only_by_someone_it_adds_is_refused() =>
        Assert.Contains("generation 2 carries fewer than 2", TrustAnchor.CheckChain([Genesis, Next(_alice, _mallory)]));

    [Fact]
    public void A_next_generation_that_does_not_name_its_predecessor_is_refused()
    {
        var stray = Next() with { Previous = "sha256:" + new string('0', 64) };
        Assert.Contains("does not follow", TrustAnchor.CheckChain([Genesis, stray.SignedBy(_alice).SignedBy(_bob)]));
    }

    [Fact]
    public void A_forged_genesis_is_a_different_fingerprint()
    {
        // Whoever holds the master key can seal a genesis of their own: it verifies on its own terms, so
        // what officers and auditors compare is its fingerprint.
        var forged = new TrustAnchor(1, 2, [new TrustPerson("M1", TrustPerson.Officer, _mallory.PublicKey), new TrustPerson("M2", TrustPerson.Officer, _dan.PublicKey)], Genesis.RecoveryKeys, null, [])
            .SignedBy(_mallory).SignedBy(_dan);
        Assert.Null(TrustAnchor.CheckChain([forged]));
        Assert.NotEqual(Genesis.Fingerprint, forged.Fingerprint);
    }

    [Theory]
    [InlineData(1, "threshold must be at least 2")]
    [InlineData(4, "threshold must be at least 2 and at most the number of officers (3)")]
    public void A_threshold_outside_two_to_the_officers_is_refused(int threshold, string message) =>
        Assert.Contains(message, Assert.Throws<SealpostException>(() => (Genesis with { Threshold = threshold }).Validate()).Message);

    [Fact]
    public void One_key_for_two_people_is_refused() =>
        Assert.Contains("appears once", Assert.Throws<SealpostException>(() => (Genesis with { People = [.. Genesis.People, new TrustPerson("Bobby", TrustPerson.Officer, _bob.PublicKey)] }).Validate()).Message);

    [Fact]
    public void The_file_form_round_trips_with_its_fingerprint()
    {
        var read = TrustAnchor.ReadFile(_officers.AnchorFile);
        Assert.Equal(Genesis.Fingerprint, read.Fingerprint);
        Assert.Null(TrustAnchor.CheckChain([read]));
    }

    [Theory]
    [InlineData("not json", "is not a trust anchor file")]
    [InlineData("{}", "is not a complete trust anchor file")]
    [InlineData("{\"generation\":1,\"people\":[{\"name\":\"x\"}],\"recoveryKeys\":[]}", "is not a complete trust anchor file")]
    public void A_damaged_file_is_one_clear_error(string text, string message)
    {
        var path = _folder.Sub(Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, text);
        Assert.Contains(message, Assert.Throws<SealpostException>(() => TrustAnchor.ReadFile(path)).Message);
    }

    [Fact]
    public void A_version_proof_round_trips_and_other_bytes_are_not_a_proof()
    {
        var proof = new KeyVersionProof(_alice.PublicKey, [new Endorsement(EndorsementKind.Requester, _dan.PublicKey, new byte[64])]);
        var decoded = KeyVersionProof.Decode(proof.Encode())!;
        Assert.Equal(proof.SigningPublicKey, decoded.SigningPublicKey);
        Assert.Equal(EndorsementKind.Requester, Assert.Single(decoded.Endorsements).Kind);
        Assert.Null(KeyVersionProof.Decode(new byte[64]));
        Assert.Null(KeyVersionProof.Decode([.. proof.Encode(), 0]));
    }

    [Fact]
    public void A_versions_signing_key_comes_from_its_private_key_and_nothing_else()
    {
        var (privateKey, _) = Hpke.GenerateKeyPair();
        var first = KeyVersionProof.SigningPublicKeyOf(7, 2, privateKey);
        Assert.Equal(first, KeyVersionProof.SigningPublicKeyOf(7, 2, privateKey));
        Assert.NotEqual(first, KeyVersionProof.SigningPublicKeyOf(7, 3, privateKey));
        Assert.NotEqual(first, KeyVersionProof.SigningPublicKeyOf(8, 2, privateKey));
    }
}
