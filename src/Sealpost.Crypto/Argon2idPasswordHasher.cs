using System.Globalization;
using System.Security.Cryptography;
using NSec.Cryptography;
using Sealpost.Core.Configuration;
using Sealpost.Core.Security;

namespace Sealpost.Crypto;

/// <summary>
/// Human passwords with Argon2id (RFC 9106) through libsodium (NSec), stored as a PHC string:
/// <c>$argon2id$v=19$m=65536,t=3,p=1$salt$hash</c>. The parameters travel with each verifier, so
/// raising them later leaves old verifiers valid until the next password change.
/// <para>Floors are enforced here, not only in configuration: in the production profile a verifier
/// weaker than <see cref="OptionsValidator.MinimumMemoryKiB"/>/<see cref="OptionsValidator.MinimumIterations"/>
/// is never created and never accepted. The test profile exists so test suites stay fast; the
/// server refuses it outside tests.</para>
/// </summary>
public sealed class Argon2idPasswordHasher : IPasswordHasher
{
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    private readonly int _memoryKiB;
    private readonly int _iterations;
    private readonly bool _testProfile;

    public Argon2idPasswordHasher(PasswordHashingOptions options)
    {
        _testProfile = options.Profile == OptionsValidator.TestProfile;
        if (_testProfile)
        {
            // Cheap but still real Argon2id, so the code path under test is the production one.
            _memoryKiB = 1024;
            _iterations = 1;
        }
        else
        {
            if (options.MemoryKiB < OptionsValidator.MinimumMemoryKiB || options.Iterations < OptionsValidator.MinimumIterations)
            {
                throw new ArgumentException(
                    $"Argon2id parameters below the floor (m >= {OptionsValidator.MinimumMemoryKiB} KiB, t >= {OptionsValidator.MinimumIterations})");
            }

            _memoryKiB = options.MemoryKiB;
            _iterations = options.Iterations;
        }
    }

    public bool IsTestProfile => _testProfile;

    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Derive(password, salt, _memoryKiB, _iterations);
        return string.Create(CultureInfo.InvariantCulture,
            $"$argon2id$v=19$m={_memoryKiB},t={_iterations},p=1${ToB64(salt)}${ToB64(hash)}");
    }

    public bool Verify(string password, string verifier)
    {
        if (!TryParse(verifier, out var memory, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        if (!_testProfile && (memory < OptionsValidator.MinimumMemoryKiB || iterations < OptionsValidator.MinimumIterations))
        {
            return false; // a weak verifier (e.g. made by a test profile) never unlocks a production account
        }

        // Bound the work a stored string can ask for.
        if (memory > 4 * 1024 * 1024 || iterations > 100)
        {
            return false;
        }

        var actual = Derive(password, salt, memory, iterations);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static byte[] Derive(string password, byte[] salt, int memoryKiB, int iterations)
    {
        var parameters = new Argon2Parameters { DegreeOfParallelism = 1, MemorySize = memoryKiB, NumberOfPasses = iterations };
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(parameters);
        return algorithm.DeriveBytes(password, salt, HashBytes);
    }

    private static bool TryParse(string verifier, out int memory, out int iterations, out byte[] salt, out byte[] hash)
    {
        memory = iterations = 0;
        salt = hash = [];
        var parts = verifier.Split('$');
        // "", "argon2id", "v=19", "m=..,t=..,p=1", salt, hash
        if (parts.Length != 6 || parts[0].Length != 0 || parts[1] != "argon2id" || parts[2] != "v=19")
        {
            return false;
        }

        foreach (var kv in parts[3].Split(','))
        {
            var pair = kv.Split('=');
            if (pair.Length != 2 || !int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }

            switch (pair[0])
            {
                case "m": memory = value; break;
                case "t": iterations = value; break;
                case "p" when value == 1: break;
                default: return false;
            }
        }

        try
        {
            salt = FromB64(parts[4]);
            hash = FromB64(parts[5]);
        }
        catch (FormatException)
        {
            return false;
        }

        return memory > 0 && iterations > 0 && salt.Length == SaltBytes && hash.Length == HashBytes;
    }

    // PHC strings use unpadded standard base64.
    private static string ToB64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[] FromB64(string text) => Convert.FromBase64String(text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));
}
