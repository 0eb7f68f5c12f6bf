using Sealpost.Core.Configuration;
using Sealpost.Crypto.Vault;

namespace Sealpost.Tests.Crypto;

public sealed class CredentialKdfTests
{
    private static readonly CredentialKdf Test = new(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile });

    [Fact]
    public void Password_verifiers_are_salted_and_yield_the_same_keys_only_for_the_right_password()
    {
        var (a, keysA) = Test.NewPassword("correct horse");
        var (b, _) = Test.NewPassword("correct horse");
        Assert.StartsWith("$sp-argon2id$v=1$m=1024,t=1$", a);
        Assert.NotEqual(a, b);
        Assert.DoesNotContain("correct", a);
        using var again = Test.Verify("correct horse", a);
        Assert.NotNull(again);
        Assert.Equal(keysA.WrapKey, again.WrapKey);
        Assert.NotEqual(again.Auth, again.WrapKey);
        Assert.DoesNotContain(Convert.ToBase64String(again.WrapKey).TrimEnd('='), a); // the wrap key is never stored
        Assert.Null(Test.Verify("correct horsf", a));
    }

    [Fact]
    public void App_passwords_have_160_bits_and_verify_in_any_grouping_or_case()
    {
        var (secret, verifier, keys) = Test.NewAppPassword();
        Assert.Matches("^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$", secret);
        Assert.True(CredentialKdf.LooksLikeAppPassword(secret));
        Assert.StartsWith("$sp-hkdf$v=1$", verifier);
        using var lower = Test.Verify(secret.Replace("-", " ").ToLowerInvariant(), verifier);
        Assert.Equal(keys.WrapKey, lower!.WrapKey);
        Assert.Null(Test.Verify(secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A'), verifier));
        Assert.False(CredentialKdf.LooksLikeAppPassword("correct horse battery staple"));
    }

    [Fact]
    public void Production_parameters_below_the_floor_are_refused_in_code()
    {
        Assert.Throws<ArgumentException>(() => new CredentialKdf(new PasswordHashingOptions { MemoryKiB = 8 * 1024, Iterations = 3 }));
        Assert.Throws<ArgumentException>(() => new CredentialKdf(new PasswordHashingOptions { MemoryKiB = 64 * 1024, Iterations = 1 }));
    }

    [Fact]
    public void A_production_kdf_never_accepts_a_verifier_made_with_the_test_profile()
    {
        var (cheap, _) = Test.NewPassword("pw for both");
        var production = new CredentialKdf(new PasswordHashingOptions { MemoryKiB = OptionsValidator.MinimumMemoryKiB, Iterations = 2 });
        Assert.Null(production.Verify("pw for both", cheap));
        var (real, _) = production.NewPassword("pw for both");
        Assert.Contains("m=19456,t=2", real);
        Assert.NotNull(production.Verify("pw for both", real));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plaintext")]
    [InlineData("$argon2id$v=19$m=1024,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$sp-argon2id$v=1$m=99999999,t=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$sp-argon2id$v=1$m=1024,t=1,p=9$AAAAAAAAAAAAAAAAAAAAAA$AAAA")]
    [InlineData("$sp-argon2id$v=1$m=1024,t=1$not base64!$AAAA")]
    [InlineData("$sp-hkdf$v=1$AAAAAAAAAAAAAAAAAAAAAA$!!")]
    public void Malformed_or_hostile_verifiers_fail_closed(string verifier)
    {
        Assert.Null(Test.Verify("anything at all", verifier));
        Assert.Null(Test.Verify("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA", verifier));
    }

    [Fact]
    public async Task No_more_argon2id_runs_at_once_than_allowed_and_app_passwords_do_not_queue()
    {
        var kdf = new CredentialKdf(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile, MaxConcurrent = 2 });
        Assert.Equal(2, kdf.MaxConcurrent);
        var (verifier, _) = kdf.NewPassword("storm password");
        var (appSecret, appVerifier, _) = kdf.NewAppPassword();

        // A login storm: 24 verifications and 8 unknown-user equalisers at once, from the thread pool.
        var logins = Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
        {
            using var keys = await kdf.VerifyAsync(i % 2 == 0 ? "storm password" : "wrong", verifier, CancellationToken.None);
            return keys is not null;
        })).ToList();
        var unknown = Enumerable.Range(0, 8).Select(_ => Task.Run(() => kdf.SpendWorkAsync("whatever", CancellationToken.None))).ToList();
        var results = await Task.WhenAll(logins);
        await Task.WhenAll(unknown);

        Assert.Equal(12, results.Count(ok => ok));
        Assert.InRange(kdf.PeakConcurrent, 1, 2);
        using var app = await kdf.VerifyAsync(appSecret, appVerifier, CancellationToken.None);
        Assert.NotNull(app);

        // Eight real threads released at the same instant, synchronous callers this time: still two at most.
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < 5; i++)
            {
                using var keys = kdf.Verify("storm password", verifier);
                Assert.NotNull(keys);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.InRange(kdf.PeakConcurrent, 1, 2); // never a third (without the gate eight lined-up threads reach 5 to 8)
    }

    [Fact]
    public async Task A_cancelled_wait_for_an_argon2id_slot_gives_up_without_taking_one()
    {
        var kdf = new CredentialKdf(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile, MaxConcurrent = 1 });
        var (verifier, _) = kdf.NewPassword("pw");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => kdf.VerifyAsync("pw", verifier, cancelled.Token));
        using var keys = await kdf.VerifyAsync("pw", verifier, CancellationToken.None); // the only slot is still free
        Assert.NotNull(keys);
    }
}
