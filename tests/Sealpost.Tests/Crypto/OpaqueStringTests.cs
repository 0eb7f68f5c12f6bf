using System.Security.Cryptography;
using NSec.Cryptography;
using Sealpost.Core.Configuration;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;

namespace Sealpost.Tests.Crypto;

/// <summary>RFC 8265 §4.2 OpaqueString, the preparation every human password gets before Argon2id.</summary>
public sealed class OpaqueStringTests
{
    private static readonly CredentialKdf Kdf = new(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile });

    [Theory]
    [InlineData("correct horse", "correct horse")] // ASCII is unchanged
    [InlineData("Caf\u0065\u0301 au lait", "Caf\u00e9 au lait")] // NFC: e + combining acute is é
    [InlineData("no\u00A0break", "no break")] // non-ASCII spaces map to U+0020 (§4.2.1)
    [InlineData("ideo\u3000graphic", "ideo graphic")]
    [InlineData("\uFF21\uFF22 full width", "\uFF21\uFF22 full width")] // no width mapping
    [InlineData("MiXeD Case", "MiXeD Case")] // no case mapping
    [InlineData("\u5BC6\u78BC\u5F88\u9577", "\u5BC6\u78BC\u5F88\u9577")] // Traditional Chinese
    [InlineData("\uD83D\uDD11 key emoji", "\uD83D\uDD11 key emoji")] // a symbol outside the BMP
    [InlineData("\uAC00\uB098", "\uAC00\uB098")] // precomposed Hangul syllables
    public void Prepares_as_the_profile_says(string input, string expected) =>
        Assert.Equal(expected, OpaqueString.Prepare(input, out _));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("bell\u0007", "control")]
    [InlineData("tab\tbed", "control")]
    [InlineData("zero\u200Bwidth", "invisible")]
    [InlineData("soft\u00ADhyphen", "invisible")]
    [InlineData("joiner\u200Dhere", "invisible")]
    [InlineData("variation\uFE0F", "default-ignorable")]
    [InlineData("private\uE000", "private-use")]
    [InlineData("line\u2028sep", "line or paragraph")]
    [InlineData("non\uFDD0char", "noncharacter")]
    [InlineData("\u11A8 trailing jamo", "Hangul jamo")] // a lone conjoining jamo (L+V would compose into a syllable first)
    public void Refuses_what_the_profile_disallows(string input, string reason)
    {
        Assert.Null(OpaqueString.Prepare(input, out var why));
        Assert.Contains(reason, why);
    }

    [Fact]
    public void Refuses_an_unpaired_surrogate()
    {
        // Built here: test-case serialisation would replace the lone surrogate with U+FFFD.
        Assert.Null(OpaqueString.Prepare(new string(['\uD800', 'a', 'l', 'o', 'n', 'e']), out var why));
        Assert.Contains("surrogate", why);
    }

    [Theory]
    [InlineData("Caf\u00e9 au lait 2026", "Caf\u0065\u0301 au lait 2026")]
    [InlineData("no\u00A0break in here", "no break in here")]
    public void A_password_typed_either_way_is_the_same_password(string setAs, string typedAs)
    {
        var (verifier, keys) = Kdf.NewPassword(setAs);
        using var again = Kdf.Verify(typedAs, verifier);
        Assert.NotNull(again);
        Assert.Equal(keys.WrapKey, again.WrapKey);
    }

    [Fact]
    public void A_disallowed_password_is_never_hashed()
    {
        var ex = Assert.Throws<Sealpost.Core.SealpostException>(() => Kdf.NewPassword("bad\u200Bpassword"));
        Assert.Equal(Sealpost.Core.ErrorKind.InvalidInput, ex.Kind);
    }

    /// <summary>
    /// Verifiers made before passwords were prepared hold the password as it was typed then: one typed
    /// decomposed still opens, and the same text composed does not (it was a different password then).
    /// </summary>
    [Fact]
    public void A_verifier_made_from_an_unprepared_password_still_verifies()
    {
        const string typed = "Caf\u0065\u0301 au lait 2026";
        var verifier = UnpreparedVerifier(typed);
        Assert.NotNull(Kdf.Verify(typed, verifier));
        Assert.Null(Kdf.Verify("something else entirely", verifier));
    }

    // The verifier format of CredentialKdf ($sp-argon2id$v=1$m,t$salt$auth), over the raw text.
    private static string UnpreparedVerifier(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var master = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters { DegreeOfParallelism = 1, MemorySize = 1024, NumberOfPasses = 1 })
            .DeriveBytes(password, salt, 32);
        var auth = HKDF.Expand(HashAlgorithmName.SHA256, master, 32, "sealpost/credential/auth/v1"u8.ToArray());
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=');
        return $"$sp-argon2id$v=1$m=1024,t=1${B64(salt)}${B64(auth)}";
    }
}
