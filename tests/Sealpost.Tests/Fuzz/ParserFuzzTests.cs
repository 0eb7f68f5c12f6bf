using Sealpost.Fuzz;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Fuzz;

/// <summary>
/// Every fuzz target (<see cref="FuzzTargets"/>, shared with the AFL++ harness) on mutated valid inputs,
/// seeded: each must end in a result or the parser's own refusal, never another exception (which on a
/// live connection would be an internal error). One case per target. The normal suite runs a few
/// thousand inputs each; <c>scripts/fuzz.sh</c> runs them for minutes with a fresh seed and
/// <c>scripts/fuzz-afl.sh</c> under AFL++ with coverage. A failure names the target and the input
/// (base64), so it reproduces.
/// </summary>
public sealed class ParserFuzzTests
{
    private const int Count = 3_000;

    public static TheoryData<string> TargetNames() => new(FuzzTargets.All.Keys);

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Every_input_ends_in_a_result_or_the_parsers_own_refusal(string target)
    {
        var seeds = FuzzTargets.All[target].SeedBytes;
        var inputs = 0;
        foreach (var input in seeds.Concat(Mutator.Mutations(seeds, seed: 20261206 + target.Length, Count)))
        {
            inputs++;
            try
            {
                FuzzTargets.RunOne(target, input);
            }
            catch (Exception ex)
            {
                Assert.Fail($"{target}: {ex.GetType().Name}: {ex.Message} on input (base64) {Convert.ToBase64String(input)}");
            }
        }

        Assert.True(inputs > seeds.Count);
    }
}
