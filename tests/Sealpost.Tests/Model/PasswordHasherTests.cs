using Sealpost.Core.Configuration;
using Sealpost.Crypto;

namespace Sealpost.Tests.Model;

public sealed class PasswordHasherTests
{
    [Fact]
    public void Hashes_are_salted_phc_strings_that_verify_only_the_right_password()
    {
        var hasher = new Argon2idPasswordHasher(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile });
        var a = hasher.Hash("correct horse");
        var b = hasher.Hash("correct horse");
        Assert.StartsWith("$argon2id$v=19$m=1024,t=1,p=1$", a);
        Assert.NotEqual(a, b);
        Assert.True(hasher.Verify("correct horse", a));
        Assert.False(hasher.Verify("correct horsf", a));
        Assert.DoesNotContain("correct", a);
    }

    [Fact]
    public void Production_parameters_below_the_floor_are_refused_in_code()
    {
        Assert.Throws<ArgumentException>(() => new Argon2idPasswordHasher(new PasswordHashingOptions { MemoryKiB = 8 * 1024, Iterations = 3 }));
        Assert.Throws<ArgumentException>(() => new Argon2idPasswordHasher(new PasswordHashingOptions { MemoryKiB = 64 * 1024, Iterations = 1 }));
    }

    [Fact]
    public void A_production_hasher_never_accepts_a_verifier_made_with_the_test_profile()
    {
        var cheap = new Argon2idPasswordHasher(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile }).Hash("pw for both");
        var production = new Argon2idPasswordHasher(new PasswordHashingOptions { MemoryKiB = OptionsValidator.MinimumMemoryKiB, Iterations = 2 });
        Assert.False(production.Verify("pw for both", cheap));
        var real = production.Hash("pw for both");
        Assert.Contains("m=19456,t=2", real);
        Assert.True(production.Verify("pw for both", real));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plaintext")]
    [InlineData("$argon2i$v=19$m=1024,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$argon2id$v=19$m=1024,t=1,p=4$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$argon2id$v=19$m=1024,t=1,p=1$not base64!$AAAA")]
    public void Malformed_or_hostile_verifiers_fail_closed(string verifier)
    {
        var hasher = new Argon2idPasswordHasher(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile });
        Assert.False(hasher.Verify("anything", verifier));
    }
}
