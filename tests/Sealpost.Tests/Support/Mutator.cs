using System.Diagnostics;

namespace Sealpost.Tests.Support;

/// <summary>
/// Seeded byte-level mutations of valid inputs (delete, insert, overwrite, truncate, repeat a slice,
/// splice two seeds), for the fuzz tests. The normal suite runs a fixed count with a fixed seed, so a
/// failure reproduces; <c>scripts/fuzz.sh</c> sets <c>SEALPOST_FUZZ_SECONDS</c> (and a fresh
/// <c>SEALPOST_FUZZ_SEED</c>) to run each target for minutes instead.
/// </summary>
public static class Mutator
{
    private static readonly byte[] Interesting = "()[]<>{}\"\\*%$:;,.+-=~@/ 0123456789aAzZ\r\n\t\0\x7f"u8.ToArray()
        .Concat(new byte[] { 0x80, 0xC3, 0xA4, 0xFF, 0xFE }).ToArray();

    /// <summary>The seed in force: SEALPOST_FUZZ_SEED when set, else <paramref name="fallback"/>.</summary>
    public static int Seed(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("SEALPOST_FUZZ_SEED"), out var seed) ? seed : fallback;

    /// <summary>
    /// Mutations of <paramref name="seeds"/>: <paramref name="count"/> of them, or as many as fit in
    /// SEALPOST_FUZZ_SECONDS when that is set.
    /// </summary>
    public static IEnumerable<byte[]> Mutations(IReadOnlyList<byte[]> seeds, int seed, int count)
    {
        var random = new Random(Seed(seed));
        var budget = double.TryParse(Environment.GetEnvironmentVariable("SEALPOST_FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
        var clock = Stopwatch.StartNew();
        for (var i = 0; budget is null ? i < count : clock.Elapsed < budget; i++)
        {
            var data = new List<byte>(seeds[random.Next(seeds.Count)]);
            var edits = random.Next(1, 6);
            for (var e = 0; e < edits; e++)
            {
                Mutate(data, random, seeds);
            }

            yield return data.ToArray();
        }
    }

    private static void Mutate(List<byte> data, Random random, IReadOnlyList<byte[]> seeds)
    {
        var at = data.Count == 0 ? 0 : random.Next(data.Count);
        switch (random.Next(7))
        {
            case 0 when data.Count > 0:
                data.RemoveRange(at, Math.Min(data.Count - at, random.Next(1, 8)));
                break;
            case 1:
                data.Insert(at, Interesting[random.Next(Interesting.Length)]);
                break;
            case 2 when data.Count > 0:
                data[at] = Interesting[random.Next(Interesting.Length)];
                break;
            case 3:
                data.RemoveRange(at, data.Count - at);
                break;
            case 4 when data.Count > 0:
                // Repeat a slice, sometimes many times: long runs find length limits.
                var length = Math.Min(data.Count - at, random.Next(1, 16));
                var slice = data.GetRange(at, length);
                for (var r = random.Next(1, random.Next(2) == 0 ? 4 : 400); r > 0; r--)
                {
                    data.InsertRange(at, slice);
                }

                break;
            case 5:
                var other = seeds[random.Next(seeds.Count)];
                var from = random.Next(other.Length + 1);
                data.InsertRange(at, other.Skip(from).Take(random.Next(1, 32)));
                break;
            default:
                data.Insert(at, (byte)random.Next(256));
                break;
        }
    }
}
