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
}
