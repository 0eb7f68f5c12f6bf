using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;
using Sealpost.Core.Configuration;

namespace Sealpost.Crypto.Vault;

/// <summary>What a credential yields: a value to compare with the stored verifier, and a key that unwraps the account key.</summary>
public sealed class CredentialKeys(byte[] auth, byte[] wrapKey) : IDisposable
{
    public byte[] Auth { get; } = auth;
    public byte[] WrapKey { get; } = wrapKey;

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(Auth);
        CryptographicOperations.ZeroMemory(WrapKey);
    }
}

/// <summary>
/// Turns a secret into (auth, wrap key). One stretch per login, split by HKDF:
/// <list type="bullet">
/// <item>Human passwords: Argon2id (RFC 9106) through libsodium, parameters in the verifier
/// (<c>$sp-argon2id$v=1$m=65536,t=3$salt$auth</c>). Floors are enforced here, not only in
/// configuration: production never makes nor accepts a verifier below m=19 MiB, t=2.</item>
/// <item>App passwords: generated here with 160 bits of entropy, so a fast KDF is enough (HKDF;
/// <c>$sp-hkdf$v=1$salt$auth</c>): reconnect storms cost microseconds.</item>
/// </list>
/// Only the auth value is stored; the wrap key is never stored anywhere.
/// </summary>
public sealed class CredentialKdf
{
    private const int SaltBytes = 16;
    private static readonly byte[] AuthInfo = "sealpost/credential/auth/v1"u8.ToArray();
    private static readonly byte[] WrapInfo = "sealpost/credential/wrap/v1"u8.ToArray();

    private readonly int _memoryKiB;
    private readonly int _iterations;
    private readonly bool _testProfile;

    // At most this many Argon2id runs at once (PasswordHashing:MaxConcurrent): each takes MemoryKiB, so a
    // login storm after a restart queues instead of taking hundreds of 64 MiB blocks at once.
    private readonly SemaphoreSlim _gate;
    private int _running;
    private int _waiting;
    private int _peak;
    private long _runs;

    public CredentialKdf(PasswordHashingOptions options)
    {
        var concurrent = options.MaxConcurrent > 0 ? options.MaxConcurrent : Environment.ProcessorCount;
        MaxConcurrent = concurrent;
        _gate = new SemaphoreSlim(concurrent, concurrent);
        _testProfile = options.Profile == OptionsValidator.TestProfile;
        if (_testProfile)
        {
            // Cheap but real Argon2id, so tests exercise the production code path.
            _memoryKiB = 1024;
            _iterations = 1;
            return;
        }

        if (options.MemoryKiB < OptionsValidator.MinimumMemoryKiB || options.Iterations < OptionsValidator.MinimumIterations)
        {
            throw new ArgumentException($"Argon2id parameters below the floor (m >= {OptionsValidator.MinimumMemoryKiB} KiB, t >= {OptionsValidator.MinimumIterations})");
        }

        _memoryKiB = options.MemoryKiB;
        _iterations = options.Iterations;
    }

    public bool IsTestProfile => _testProfile;

    /// <summary>How many Argon2id computations may run at once.</summary>
    public int MaxConcurrent { get; }

    /// <summary>The most that ever ran at once (a gauge for operators and tests).</summary>
    public int PeakConcurrent => Volatile.Read(ref _peak);

    /// <summary>Argon2id computations running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Argon2id computations waiting for a slot now (a login storm shows here first).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Argon2id computations so far.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>A new password verifier and the keys it yields.</summary>
    /// <exception cref="Core.SealpostException">The password is disallowed by RFC 8265's OpaqueString profile.</exception>
    public (string Verifier, CredentialKeys Keys) NewPassword(string password)
    {
        var prepared = Primitives.OpaqueString.Enforce(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var keys = Split(Gated(() => Argon2id(prepared, salt, _memoryKiB, _iterations)));
        return (string.Create(CultureInfo.InvariantCulture, $"$sp-argon2id$v=1$m={_memoryKiB},t={_iterations}${B64(salt)}${B64(keys.Auth)}"), keys);
    }

    /// <summary>A new app password (shown to the user once), its verifier and the keys it yields.</summary>
    public (string Secret, string Verifier, CredentialKeys Keys) NewAppPassword()
    {
        var secretBytes = RandomNumberGenerator.GetBytes(20); // 160 bits
        var secret = FormatBase32(secretBytes);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var keys = Split(HKDF.Extract(HashAlgorithmName.SHA256, Encoding.ASCII.GetBytes(NormaliseAppPassword(secret)!), salt));
        CryptographicOperations.ZeroMemory(secretBytes);
        return (secret, $"$sp-hkdf$v=1${B64(salt)}${B64(keys.Auth)}", keys);
    }

    /// <summary>
    /// A new enrolment token (200 bits, base32 in groups of four: never the shape of an app password),
    /// its verifier and the keys it yields. HKDF is enough for a secret of that entropy.
    /// </summary>
    public static (string Token, string Verifier, CredentialKeys Keys) NewEnrolmentToken()
    {
        var secretBytes = RandomNumberGenerator.GetBytes(25);
        var token = FormatBase32(secretBytes);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var keys = Split(HKDF.Extract(HashAlgorithmName.SHA256, Encoding.ASCII.GetBytes(NormaliseGenerated(token, 40)!), salt));
        CryptographicOperations.ZeroMemory(secretBytes);
        return (token, $"$sp-enrol$v=1${B64(salt)}${B64(keys.Auth)}", keys);
    }

    /// <summary>Checks an enrolment token against its verifier; the keys if it matches, else null. Never throws on bad input.</summary>
    public static CredentialKeys? VerifyEnrolmentToken(string token, string verifier)
    {
        var parts = verifier.Split('$');
        if (parts.Length != 5 || parts[1] != "sp-enrol" || parts[2] != "v=1" || NormaliseGenerated(token, 40) is not { } normalised)
        {
            return null;
        }

        try
        {
            return Match(Split(HKDF.Extract(HashAlgorithmName.SHA256, Encoding.ASCII.GetBytes(normalised), FromB64(parts[3]))), FromB64(parts[4]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Checks a secret against a verifier; the keys if it matches, else null. Never throws on bad input.</summary>
    public CredentialKeys? Verify(string secret, string verifier) =>
        IsArgon2(verifier) ? Gated(() => VerifyCore(secret, verifier)) : VerifyCore(secret, verifier);

    /// <summary><see cref="Verify"/>, waiting for a free Argon2id slot without holding a thread.</summary>
    public async Task<CredentialKeys?> VerifyAsync(string secret, string verifier, CancellationToken ct)
    {
        if (!IsArgon2(verifier))
        {
            return VerifyCore(secret, verifier);
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            await _gate.WaitAsync(ct);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return Run(() => VerifyCore(secret, verifier));
    }

    private static bool IsArgon2(string verifier) => verifier.StartsWith("$sp-argon2id$", StringComparison.Ordinal);

    private T Gated<T>(Func<T> work)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            _gate.Wait();
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return Run(work);
    }

    // Runs with a gate slot already taken, and gives it back.
    private T Run<T>(Func<T> work)
    {
        try
        {
            Interlocked.Increment(ref _runs);
            var running = Interlocked.Increment(ref _running);
            for (var peak = Volatile.Read(ref _peak); running > peak && Interlocked.CompareExchange(ref _peak, running, peak) != peak; peak = Volatile.Read(ref _peak))
            {
            }

            return work();
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _gate.Release();
        }
    }

    private CredentialKeys? VerifyCore(string secret, string verifier)
    {
        var parts = verifier.Split('$');
        try
        {
            if (parts.Length == 6 && parts[1] == "sp-argon2id" && parts[2] == "v=1")
            {
                if (!TryParseParameters(parts[3], out var memory, out var iterations) || secret.Length is 0 or > 1024)
                {
                    return null;
                }

                // A weak verifier (made by a test profile) never unlocks a production account; a huge one is refused.
                if ((!_testProfile && (memory < OptionsValidator.MinimumMemoryKiB || iterations < OptionsValidator.MinimumIterations))
                    || memory > 4 * 1024 * 1024 || iterations > 100)
                {
                    return null;
                }

                // Hashed as RFC 8265 prepares it. A verifier made before passwords were prepared holds the
                // password as typed then: only when preparing changes the text is the second hash spent.
                var salt = FromB64(parts[4]);
                var expected = FromB64(parts[5]);
                var prepared = Primitives.OpaqueString.Prepare(secret, out _);
                if (prepared is not null && Match(Split(Argon2id(prepared, salt, memory, iterations)), expected) is { } keys)
                {
                    return keys;
                }

                return prepared == secret ? null : Match(Split(Argon2id(secret, salt, memory, iterations)), expected);
            }

            if (parts.Length == 5 && parts[1] == "sp-hkdf" && parts[2] == "v=1")
            {
                var normalised = NormaliseAppPassword(secret);
                if (normalised is null)
                {
                    return null;
                }

                return Match(Split(HKDF.Extract(HashAlgorithmName.SHA256, Encoding.ASCII.GetBytes(normalised), FromB64(parts[3]))), FromB64(parts[4]));
            }
        }
        catch (FormatException)
        {
        }

        return null;
    }

    /// <summary>True if the secret has the shape of an app password (so it is tried against those first).</summary>
    public static bool LooksLikeAppPassword(string secret) => NormaliseAppPassword(secret) is { Length: 32 };

    /// <summary>Spends one Argon2id at the current parameters (timing equaliser for unknown users).</summary>
    public async Task SpendWorkAsync(string secret, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        CryptographicOperations.ZeroMemory(Run(() => Argon2id(secret, new byte[SaltBytes], _memoryKiB, _iterations)));
    }

    private static CredentialKeys? Match(CredentialKeys keys, byte[] expectedAuth)
    {
        if (CryptographicOperations.FixedTimeEquals(keys.Auth, expectedAuth))
        {
            return keys;
        }

        keys.Dispose();
        return null;
    }

    private static CredentialKeys Split(byte[] master)
    {
        var auth = HKDF.Expand(HashAlgorithmName.SHA256, master, 32, AuthInfo);
        var wrap = HKDF.Expand(HashAlgorithmName.SHA256, master, 32, WrapInfo);
        CryptographicOperations.ZeroMemory(master);
        return new CredentialKeys(auth, wrap);
    }

    private static byte[] Argon2id(string password, byte[] salt, int memoryKiB, int iterations)
    {
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters { DegreeOfParallelism = 1, MemorySize = memoryKiB, NumberOfPasses = iterations });
        return algorithm.DeriveBytes(password, salt, 32);
    }

    // Base32 (RFC 4648 alphabet) in groups of four: easy to read out, unambiguous to type.
    private static string FormatBase32(byte[] bytes)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var text = new StringBuilder();
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        return string.Join('-', text.ToString().Chunk(4).Select(c => new string(c)));
    }

    private static string? NormaliseAppPassword(string secret) => NormaliseGenerated(secret, 32);

    // A generated base32 secret as typed: any grouping, any case.
    private static string? NormaliseGenerated(string secret, int length)
    {
        if (secret.Length > 4 * length)
        {
            return null;
        }

        var cleaned = new string(secret.Where(c => c is not ('-' or ' ')).Select(char.ToUpperInvariant).ToArray());
        return cleaned.Length == length && cleaned.All(c => c is >= 'A' and <= 'Z' or >= '2' and <= '7') ? cleaned : null;
    }

    private static bool TryParseParameters(string text, out int memory, out int iterations)
    {
        memory = iterations = 0;
        foreach (var kv in text.Split(','))
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
                default: return false;
            }
        }

        return memory > 0 && iterations > 0;
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[] FromB64(string text) => Convert.FromBase64String(text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));
}
