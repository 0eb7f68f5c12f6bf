using System.Security.Cryptography;
using Sealpost.Crypto.Primitives;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Crypto;

public sealed class ShamirTests
{
    [Fact]
    public void Field_multiplication_matches_the_AES_specification_example()
    {
        // FIPS-197 section 4.2: {57} * {83} = {c1}.
        Assert.Equal(0xC1, Shamir.Multiply(0x57, 0x83));
        Assert.Equal(0xFE, Shamir.Multiply(0x57, 0x13));
    }

    [Fact]
    public void Every_non_zero_field_element_has_an_inverse()
    {
        for (var a = 1; a < 256; a++)
        {
            Assert.Equal(1, Shamir.Multiply((byte)a, Shamir.Inverse((byte)a)));
        }
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(5, 3)]
    [InlineData(7, 4)]
    [InlineData(8, 8)]
    public void Every_k_subset_of_the_shares_gives_the_secret(int n, int k)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        var shares = Shamir.Split(secret, n, k);
        var subsets = Subsets(n, k).ToList();
        Assert.NotEmpty(subsets);
        foreach (var subset in subsets)
        {
            Assert.Equal(secret, Shamir.Combine(subset.Select(i => shares[i]).ToList()));
        }
    }

    [Theory]
    [InlineData(5, 3)]
    [InlineData(4, 4)]
    public void Fewer_than_k_shares_give_a_different_value(int n, int k)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        var shares = Shamir.Split(secret, n, k);
        Assert.NotEqual(secret, Shamir.Combine(shares.Take(k - 1).ToList()));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void K_minus_one_shares_are_consistent_with_every_value_of_a_secret_byte(int k)
    {
        // For each candidate value of the first secret byte, exactly one value of a missing k-th share
        // completes the k-1 known shares to it: the k-1 shares favour no value.
        var shares = Shamir.Split(RandomNumberGenerator.GetBytes(1), k + 1, k);
        var known = shares.Take(k - 1).ToList();
        var missingX = shares[k - 1].X;
        var completions = new int[256];
        for (var y = 0; y < 256; y++)
        {
            var value = Shamir.Combine([.. known, new ShamirShare(missingX, [(byte)y])]);
            completions[value[0]]++;
        }

        Assert.All(completions, count => Assert.Equal(1, count));
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(4, 3)]
    [InlineData(0, 0)]
    [InlineData(300, 256)]
    public void Split_refuses_a_threshold_below_two_or_above_the_share_count(int threshold, int shares)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Shamir.Split(new byte[32], shares, threshold));
    }

    [Fact]
    public void Combine_refuses_repeated_x_coordinates()
    {
        var shares = Shamir.Split(new byte[32], 3, 2);
        Assert.Throws<ArgumentException>(() => Shamir.Combine([shares[0], shares[0]]));
    }

    [Fact]
    public void Combine_refuses_shares_of_different_lengths()
    {
        var shares = Shamir.Split(new byte[32], 3, 2);
        Assert.Throws<ArgumentException>(() => Shamir.Combine([shares[0], new ShamirShare(shares[1].X, shares[1].Y[..16])]));
    }

    [Fact]
    public async Task An_independent_implementation_combines_our_shares()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        var shares = Shamir.Split(secret, 5, 3);
        var combined = await NodeAsync(["combine", .. new[] { shares[4], shares[0], shares[2] }.Select(s => Convert.ToHexStringLower([.. s.Y, s.X]))]);
        Assert.Equal(Convert.ToHexStringLower(secret), combined.Trim());
    }

    [Fact]
    public async Task We_combine_an_independent_implementations_shares()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        var output = await NodeAsync("split", Convert.ToHexStringLower(secret), "5", "3");
        var shares = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(Convert.FromHexString)
            .Select(b => new ShamirShare(b[^1], b[..^1]))
            .ToList();
        Assert.Equal(5, shares.Count);
        Assert.Equal(secret, Shamir.Combine([shares[1], shares[3], shares[4]]));
    }

    private static Task<string> NodeAsync(params string[] args) => IndependentJs.RunAsync("shamir.mjs", "shamir-secret-sharing", args);

    private static IEnumerable<int[]> Subsets(int n, int k)
    {
        for (var mask = 0; mask < 1 << n; mask++)
        {
            if (System.Numerics.BitOperations.PopCount((uint)mask) == k)
            {
                yield return Enumerable.Range(0, n).Where(i => (mask & (1 << i)) != 0).ToArray();
            }
        }
    }
}
