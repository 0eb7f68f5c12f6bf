using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sealpost.Core;
using Sealpost.Crypto.Primitives;

namespace Sealpost.Server.Unseal;

/// <summary>
/// How a production data folder's master key is split among the security officers (DATA/unseal.json).
/// It holds no secret: the threshold, the share set's id, a salted hash of each share (so a mistyped or
/// foreign share is refused at once, not after k of them combine) and a MAC of a constant under the
/// master key (so the combined key is known to be the right one). Shares are 32 random-looking bytes,
/// so their hashes cannot be searched.
/// </summary>
public sealed class ShareSet
{
    public const string FileName = "unseal.json";
    public const string Prefix = "sealpost-share-v1";
    public const int MaxShares = 32;

    public string Provider { get; init; } = "shamir";
    public int Threshold { get; init; }
    public int Shares { get; init; }

    /// <summary>Random id of this split; rotating the shares makes a new one, so old shares are named as old.</summary>
    public string SetId { get; init; } = "";
    public string Salt { get; init; } = "";
    public Dictionary<string, string> Checks { get; init; } = [];
    public string MasterCheck { get; init; } = "";
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// An auto-unseal provider's wrap of the same master key (an HSM over PKCS#11), tried before waiting
    /// for shares; the shares stay the way in if the provider is lost. Kept when the shares are rotated.
    /// </summary>
    public AutoUnsealRecord? Auto { get; set; }

    public static string PathIn(string folder) => System.IO.Path.Combine(folder, FileName);

    /// <summary>The folder's share set, or null where the master key comes from a file (dev folders, test rigs).</summary>
    public static ShareSet? Load(string folder)
    {
        var path = PathIn(folder);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var set = JsonSerializer.Deserialize<ShareSet>(File.ReadAllBytes(path));
            return set is { Provider: "shamir", Threshold: >= 2 } && set.Shares >= set.Threshold && set.SetId.Length > 0
                ? set
                : throw SealpostException.Invalid($"'{path}' is not a valid share set");
        }
        catch (JsonException)
        {
            throw SealpostException.Invalid($"'{path}' is not a valid share set");
        }
    }

    /// <summary>Splits <paramref name="masterKey"/> into <paramref name="shares"/> shares, any <paramref name="threshold"/> of which rebuild it.</summary>
    public static (ShareSet Set, IReadOnlyList<string> Shares) Create(byte[] masterKey, int shares, int threshold, DateTimeOffset now)
    {
        if (threshold < 2)
        {
            throw SealpostException.Invalid("--threshold: at least 2 (one officer alone must not be able to unseal)");
        }

        if (shares < threshold || shares > MaxShares)
        {
            throw SealpostException.Invalid($"--shares: between the threshold ({threshold}) and {MaxShares}");
        }

        var setId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var salt = RandomNumberGenerator.GetBytes(16);
        var split = Shamir.Split(masterKey, shares, threshold);
        var set = new ShareSet
        {
            Threshold = threshold,
            Shares = shares,
            SetId = setId,
            Salt = Convert.ToBase64String(salt),
            Checks = split.ToDictionary(s => s.X.ToString(System.Globalization.CultureInfo.InvariantCulture), s => Convert.ToBase64String(ShareHash(salt, setId, s))),
            MasterCheck = Convert.ToBase64String(MasterMac(masterKey, setId)),
            CreatedAt = now,
        };
        var texts = split.Select(s => Format(setId, s)).ToList();
        foreach (var share in split)
        {
            CryptographicOperations.ZeroMemory(share.Y);
        }

        return (set, texts);
    }

    /// <summary>Writes the set beside the data (mode 0600), replacing an earlier one in one rename.</summary>
    public void Save(string folder)
    {
        var path = PathIn(folder);
        var temporary = path + ".new";
        File.Delete(temporary);
        DataFolder.WritePrivateFile(temporary, JsonSerializer.SerializeToUtf8Bytes(this, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
    }

    public static string Format(string setId, ShamirShare share) =>
        $"{Prefix}:{setId}:{share.X}:{Convert.ToBase64String(share.Y).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";

    /// <summary>Parses and checks one share; the error says what is wrong with it, never anything of the secret.</summary>
    public ShamirShare Check(string text)
    {
        var parts = text.Trim().Split(':');
        if (parts.Length != 4 || parts[0] != Prefix || !byte.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var x) || x == 0)
        {
            throw SealpostException.Invalid($"not a share (a share looks like '{Prefix}:{SetId}:N:...')");
        }

        if (parts[1] != SetId)
        {
            throw SealpostException.Invalid($"this share belongs to another share set ({parts[1]}); this folder's shares were made {CreatedAt:yyyy-MM-dd} (set {SetId})");
        }

        byte[] y;
        try
        {
            var body = parts[3].Replace('-', '+').Replace('_', '/');
            y = Convert.FromBase64String(body + new string('=', (4 - body.Length % 4) % 4));
        }
        catch (FormatException)
        {
            throw SealpostException.Invalid($"share {x} is damaged (check it was copied whole)");
        }

        var share = new ShamirShare(x, y);
        if (!Checks.TryGetValue(x.ToString(System.Globalization.CultureInfo.InvariantCulture), out var expected)
            || !CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(expected), ShareHash(Convert.FromBase64String(Salt), SetId, share)))
        {
            throw SealpostException.Invalid($"share {x} is not one of this folder's shares (check it was copied whole)");
        }

        return share;
    }

    public bool OpensWith(byte[] masterKey) =>
        CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(MasterCheck), MasterMac(masterKey, SetId));

    public string Describe() => $"{Threshold} of {Shares} officers' shares (set {SetId})";

    private static byte[] ShareHash(byte[] salt, string setId, ShamirShare share) =>
        SHA256.HashData([.. salt, .. Encoding.ASCII.GetBytes(setId), share.X, .. share.Y]);

    private static byte[] MasterMac(byte[] masterKey, string setId) =>
        HMACSHA256.HashData(masterKey, Encoding.ASCII.GetBytes("sealpost/master-check/v1/" + setId));
}

/// <summary>What one submitted share achieved.</summary>
public sealed record UnsealProgress(bool Unsealed, int Received, int Threshold, string? Error)
{
    public int Missing => Math.Max(0, Threshold - Received);
}

/// <summary>
/// Collects officers' shares in memory until the threshold is reached, then yields the master key once.
/// Each share is checked as it arrives; a refused share does not count.
/// </summary>
public sealed class Unsealer(ShareSet set)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<byte, ShamirShare> _received = [];
    private readonly TaskCompletionSource<byte[]> _key = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ShareSet Set { get; } = set;

    /// <summary>Shares refused (malformed, foreign, repeated): counted into the unseal record.</summary>
    public int Refused { get; private set; }

    /// <summary>The share numbers that unsealed, for the audit record.</summary>
    public IReadOnlyList<int> UsedShares { get; private set; } = [];

    /// <summary>Which provider unsealed instead of shares (e.g. "pkcs11 token 'T' key 'K'"), if one did.</summary>
    public string? Provider { get; private set; }

    /// <summary>What unsealed, for the log and the audit record.</summary>
    public string Describe() => Provider is { } provider
        ? $"{provider} ({Refused} shares refused on the way)"
        : $"shares {string.Join(", ", UsedShares)} of set {Set.SetId} ({Set.Threshold} of {Set.Shares}); {Refused} refused";

    /// <summary>
    /// A master key an auto-unseal provider yielded: accepted only if this folder's set opens with it
    /// (zeroed and refused otherwise). True once unsealed.
    /// </summary>
    public bool SubmitMasterKey(byte[] key, string provider)
    {
        lock (_lock)
        {
            if (_key.Task.IsCompleted)
            {
                CryptographicOperations.ZeroMemory(key);
                return true;
            }

            if (key.Length != 32 || !Set.OpensWith(key))
            {
                CryptographicOperations.ZeroMemory(key);
                return false;
            }

            Provider = provider;
            _key.TrySetResult(key);
            return true;
        }
    }

    /// <summary>Completes with the master key when the threshold is reached.</summary>
    public Task<byte[]> MasterKey => _key.Task;

    public UnsealProgress Status
    {
        get
        {
            lock (_lock)
            {
                return new UnsealProgress(_key.Task.IsCompletedSuccessfully, _received.Count, Set.Threshold, null);
            }
        }
    }

    public UnsealProgress Submit(string text)
    {
        lock (_lock)
        {
            if (_key.Task.IsCompleted)
            {
                return new UnsealProgress(true, _received.Count, Set.Threshold, null);
            }

            ShamirShare share;
            try
            {
                share = Set.Check(text);
            }
            catch (SealpostException ex)
            {
                Refused++;
                return new UnsealProgress(false, _received.Count, Set.Threshold, ex.Message);
            }

            if (!_received.TryAdd(share.X, share))
            {
                Refused++;
                return new UnsealProgress(false, _received.Count, Set.Threshold, $"share {share.X} was already given; another officer's share is needed");
            }

            if (_received.Count < Set.Threshold)
            {
                return new UnsealProgress(false, _received.Count, Set.Threshold, null);
            }

            var key = Shamir.Combine(_received.Values.ToList());
            UsedShares = _received.Keys.Select(k => (int)k).Order().ToList();
            foreach (var received in _received.Values)
            {
                CryptographicOperations.ZeroMemory(received.Y);
            }

            if (!Set.OpensWith(key))
            {
                // Every share passed its own check, so this means the set file was changed.
                _received.Clear();
                CryptographicOperations.ZeroMemory(key);
                return new UnsealProgress(false, 0, Set.Threshold, "the shares combine to a key this folder's share set does not accept (was unseal.json replaced?)");
            }

            _key.TrySetResult(key);
            return new UnsealProgress(true, Set.Threshold, Set.Threshold, null);
        }
    }
}
