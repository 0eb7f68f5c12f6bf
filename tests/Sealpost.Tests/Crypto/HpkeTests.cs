using System.Security.Cryptography;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Tests.Crypto;

/// <summary>RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode.</summary>
public sealed class HpkeTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    private const string Info = "4f6465206f6e2061204772656369616e2055726e";
    private const string IkmE = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
    private const string SkEm = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
    private const string PkEm = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    private const string IkmR = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
    private const string SkRm = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
    private const string PkRm = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
    private const string SharedSecret = "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc";
    private const string Key = "4531685d41d65f03dc48f6b8302c05b0";
    private const string BaseNonce = "56d890e5accaaf011cff4b7d";
    private const string Pt = "4265617574792069732074727574682c20747275746820626561757479";
    private const string Aad0 = "436f756e742d30";
    private const string Ct0 = "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a";

    [Fact]
    public void DeriveKeyPair_matches_the_vector()
    {
        Assert.Equal(H(SkEm), Hpke.DeriveKeyPair(H(IkmE)));
        Assert.Equal(H(SkRm), Hpke.DeriveKeyPair(H(IkmR)));
        Assert.Equal(H(PkEm), Hpke.PublicKeyOf(H(SkEm)));
        Assert.Equal(H(PkRm), Hpke.PublicKeyOf(H(SkRm)));
    }

    [Fact]
    public void Encap_and_key_schedule_match_the_vector()
    {
        Assert.Equal(H(SharedSecret), Hpke.EncapForTest(H(SkEm), H(PkRm)));
        var (key, nonce) = new Hpke(Hpke.AeadAes128Gcm).KeyScheduleForTest(H(SharedSecret), H(Info));
        Assert.Equal(H(Key), key);
        Assert.Equal(H(BaseNonce), nonce);
    }

    [Fact]
    public void Seal_with_the_vector_ephemeral_key_gives_the_vector_ciphertext_and_open_reverses_it()
    {
        var hpke = new Hpke(Hpke.AeadAes128Gcm);
        var (enc, ct) = hpke.Seal(H(PkRm), H(Info), H(Aad0), H(Pt), H(SkEm));
        Assert.Equal(H(PkEm), enc);
        Assert.Equal(H(Ct0), ct);
        Assert.Equal(H(Pt), hpke.Open(H(SkRm), enc, H(Info), H(Aad0), ct));
    }

    [Fact]
    public void Aes256_round_trips_and_rejects_any_change()
    {
        var hpke = new Hpke();
        var (sk, pk) = Hpke.GenerateKeyPair();
        var (enc, ct) = hpke.Seal(pk, "info"u8, "aad"u8, "content key 32 bytes long.......!"u8);
        Assert.Equal("content key 32 bytes long.......!"u8.ToArray(), hpke.Open(sk, enc, "info"u8, "aad"u8, ct));

        Assert.ThrowsAny<CryptographicException>(() => hpke.Open(sk, enc, "info"u8, "aaD"u8, ct));
        Assert.ThrowsAny<CryptographicException>(() => hpke.Open(sk, enc, "infO"u8, "aad"u8, ct));
        var flipped = ct.ToArray();
        flipped[3] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => hpke.Open(sk, enc, "info"u8, "aad"u8, flipped));
        var (otherSk, _) = Hpke.GenerateKeyPair();
        Assert.ThrowsAny<CryptographicException>(() => hpke.Open(otherSk, enc, "info"u8, "aad"u8, ct));
        Assert.ThrowsAny<CryptographicException>(() => hpke.Open(sk, new byte[32], "info"u8, "aad"u8, ct)); // low-order point
    }

    [Theory]
    [InlineData(0)] // all zeros: a low-order point
    [InlineData(1)] // the point of order 1 (u = 1)
    [InlineData(31)] // too short
    public void Sealing_to_a_public_key_that_gives_no_shared_secret_is_refused(int kind)
    {
        var key = kind switch
        {
            0 => new byte[32],
            1 => [1, .. new byte[31]],
            _ => new byte[31],
        };
        Assert.ThrowsAny<CryptographicException>(() => new Hpke().Seal(key, "info"u8, "aad"u8, "content key"u8));
    }

    [Fact]
    public void A_recipient_key_imported_once_opens_many_messages_and_refuses_what_is_not_its_own()
    {
        var hpke = new Hpke();
        var (sk, pk) = Hpke.GenerateKeyPair();
        using var recipient = new Hpke.RecipientKey(sk);
        for (var i = 0; i < 3; i++)
        {
            var (enc, ct) = hpke.Seal(pk, "info"u8, "aad"u8, [(byte)i, 2, 3]);
            Assert.Equal([(byte)i, 2, 3], hpke.Open(recipient, enc, "info"u8, "aad"u8, ct));
        }

        var (_, otherPk) = Hpke.GenerateKeyPair();
        var (otherEnc, otherCt) = hpke.Seal(otherPk, "info"u8, "aad"u8, [9]);
        Assert.ThrowsAny<CryptographicException>(() => hpke.Open(recipient, otherEnc, "info"u8, "aad"u8, otherCt));
    }
}
