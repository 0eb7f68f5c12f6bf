using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;

namespace Sealpost.Tests.Support;

/// <summary>
/// A trust anchor made the way officers make one, on their own machines: personal keys for two
/// security officers (Alice, Bob) and a third (Erin) who did not sign it, one administrator (Dan), a
/// recovery key pair; signed by Alice and Bob (threshold 2). Nothing of it is in any data folder.
/// </summary>
public sealed record TestOfficers(string AnchorFile, string AliceKey, string BobKey, string ErinKey, string DanKey, string RecoveryPublicFile, byte[] RecoveryPrivateKey, TrustAnchor Anchor)
{
    /// <summary>What 'sealpost keys endorse' does: sign the version as listed with one person's key file, hand it in.</summary>
    public static async Task<Sealpost.Domain.KeyVersionView> EndorseAsync(Sealpost.Server.SealpostRuntime runtime, string address, int version, string keyFile, EndorsementKind kind)
    {
        var v = (await runtime.KeyCustody.ListKeyVersionsAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, address, false)).Single(k => k.Version == version);
        using var person = PersonalKey.Load(keyFile);
        return await runtime.KeyCustody.EndorseAsync(Sealpost.Server.SealpostRuntime.LocalAdministrator, address, version,
            KeyTrust.Sign(person, kind, v.AccountId, version, v.PublicKey, v.SigningPublicKey ?? KeyVersionProof.NoSigningKey));
    }

    /// <summary>An officer's approval of a grant, signed with their key file as 'sealpost grants approve' does, handed in.</summary>
    public static async Task<Sealpost.Domain.AccessGrantView> ApproveGrantAsync(Sealpost.Server.SealpostRuntime runtime, Sealpost.Domain.AccessGrantView grant, string keyFile)
    {
        using var officer = PersonalKey.Load(keyFile);
        return await runtime.AccessGrants.ApproveAsync(Sealpost.Core.Access.Actor.Officers("officer", "laptop"), grant.Id,
            new GrantApproval("", officer.PublicKey, officer.Sign(Sealpost.Domain.AccessGrantService.ApprovalPayload(grant))));
    }

    /// <summary>The whole ceremony: requested by the local administrator, approved by Alice and Bob, opened offline with two of three shares, applied.</summary>
    public async Task<Sealpost.Domain.AccessGrantView> ActivateGrantAsync(Sealpost.Server.SealpostRuntime runtime, string grantee, string mailbox, TimeSpan window)
    {
        var admin = Sealpost.Server.SealpostRuntime.LocalAdministrator;
        var grant = await runtime.AccessGrants.RequestAsync(admin, grantee, mailbox, "case 2026-114: suspected data leak, ordered by the inspector", null, DateTimeOffset.UtcNow + window);
        await ApproveGrantAsync(runtime, grant, AliceKey);
        await ApproveGrantAsync(runtime, grant, BobKey);
        var request = await runtime.KeyCustody.RequestGrantKeysAsync(admin, grant.Id);
        var key = RecoveryShares.Combine(RecoveryShares.Split(RecoveryPrivateKey, 3, 2).Skip(1));
        await runtime.KeyCustody.ApplyRecoveryAsync(admin, await RecoveryOpening.OpenAsync(request, key, Anchor.Fingerprint));
        return await runtime.AccessGrants.GetAsync(admin, grant.Id);
    }

    public static TestOfficers Create(string folder)
    {
        var keys = Path.Combine(folder, "officers-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(keys);
        string Key(string name)
        {
            PersonalKey.Generate(Path.Combine(keys, name + ".key"), Path.Combine(keys, name + ".pub"));
            return Path.Combine(keys, name + ".key");
        }

        var alice = Key("alice");
        var bob = Key("bob");
        var erin = Key("erin");
        var dan = Key("dan");
        var (recoveryPrivate, recoveryPublic) = Hpke.GenerateKeyPair();
        var recoveryFile = Path.Combine(keys, "recovery.pub");
        KeyFiles.Write(recoveryFile, KeyFiles.RecoveryPublicLabel, recoveryPublic);
        TrustPerson Person(string name, string role) => new(name, role, PersonalKey.ReadPublic(Path.Combine(keys, name.ToLowerInvariant() + ".pub")));
        var anchor = new TrustAnchor(1, 2, [Person("Alice", TrustPerson.Officer), Person("Bob", TrustPerson.Officer), Person("Erin", TrustPerson.Officer), Person("Dan", TrustPerson.Admin)],
            [new TrustedRecoveryKey(1, recoveryPublic)], null, []);
        using (var a = PersonalKey.Load(alice))
        using (var b = PersonalKey.Load(bob))
        {
            anchor = anchor.SignedBy(a).SignedBy(b);
        }

        var anchorFile = Path.Combine(keys, "anchor.json");
        File.WriteAllText(anchorFile, anchor.ToJson());
        return new TestOfficers(anchorFile, alice, bob, erin, dan, recoveryFile, recoveryPrivate, anchor);
    }
}
