using System.Collections.Concurrent;

namespace Sealpost.Core.Security;

/// <summary>
/// Where failed logins are counted. The store's implementation is shared by every node and every
/// protocol (a guesser gains nothing by spreading attempts over nodes) and is what admins list;
/// <see cref="InMemoryLoginFailures"/> serves tests and tools without a store.
/// </summary>
public interface ILoginFailureLog
{
    Task RecordLoginFailureAsync(string key, DateTimeOffset at, CancellationToken cancellationToken = default);
    Task<int> CountLoginFailuresAsync(string key, DateTimeOffset since, CancellationToken cancellationToken = default);
    Task ClearLoginFailuresAsync(string key, CancellationToken cancellationToken = default);
    /// <summary>Keys with failures since <paramref name="since"/>: how many, and the latest.</summary>
    Task<IReadOnlyList<LoginFailureCount>> ListLoginFailuresAsync(DateTimeOffset since, CancellationToken cancellationToken = default);
    /// <summary>Removes entries older than <paramref name="before"/>, except keys starting with <paramref name="keepPrefix"/>.</summary>
    Task<int> PruneLoginFailuresAsync(DateTimeOffset before, string? keepPrefix = null, CancellationToken cancellationToken = default);
}

public readonly record struct LoginFailureCount(string Key, int Failures, DateTimeOffset Last);

/// <summary>What an admin sees: an account or client address that is refused logins now, and until when.</summary>
public readonly record struct Lockout(string Kind, string Subject, int Failures, DateTimeOffset Until);

/// <summary>
/// Failed-login accounting for every protocol (SMTP, IMAP; the API later). Failures are counted per
/// client address and per account over a sliding window; past either limit, further attempts are
/// refused without checking the password (so guessing costs the attacker time, not us Argon2id work)
/// until the window has passed. A success clears the account's count.
/// </summary>
/// <para>Account names are stored as a keyed hash (<paramref name="accountKeySecret"/>, shared by every
/// node through the keystore): what a client typed as a user name may be a mistyped password, and must
/// not sit in the database in plaintext.</para>
/// <para>An account's limit does not lock out its owner: a client address the account logged in from
/// successfully within <paramref name="familiarFor"/> is counted on its own (account and address
/// together), so a guesser elsewhere who exhausts the account's limit does not stop the owner's
/// own devices ("smart lockout"). Only that address's own failures can stop it.</para>
public sealed class LoginThrottle(ILoginFailureLog log, byte[] accountKeySecret, int maxPerAddress, int maxPerAccount, TimeSpan window, TimeProvider? time = null, TimeSpan? familiarFor = null)
{
    /// <summary>The clock failures are counted by; tests over a running server move it past a lockout.</summary>
    internal TimeProvider Clock { get; set; } = time ?? TimeProvider.System;
    private readonly TimeSpan _familiarFor = familiarFor ?? TimeSpan.FromDays(30);

    private const string FamiliarPrefix = "known:";

    private static string AddressKey(string clientAddress) => "ip:" + clientAddress;

    private string PairHash(string account, string clientAddress) =>
        Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(accountKeySecret,
            System.Text.Encoding.UTF8.GetBytes(account.Trim().ToLowerInvariant() + "\n" + clientAddress)).AsSpan(0, 16));

    // A success from this address for this account (kept for familiarFor) and its failures (kept for the window).
    private string FamiliarKey(string account, string clientAddress) => FamiliarPrefix + PairHash(account, clientAddress);

    private string PairKey(string account, string clientAddress) => "pair:" + PairHash(account, clientAddress);

    private string AccountKey(string account) =>
        "acct:" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(accountKeySecret, System.Text.Encoding.UTF8.GetBytes(account.Trim().ToLowerInvariant())).AsSpan(0, 16));

    /// <summary>Why a login is refused before its password is checked, or null if it may proceed.</summary>
    public async Task<string?> RefusalAsync(string clientAddress, string account, CancellationToken ct = default)
    {
        var since = Clock.GetUtcNow() - window;
        if (await log.CountLoginFailuresAsync(AddressKey(clientAddress), since, ct) >= maxPerAddress)
        {
            return "too many failed logins from this address";
        }

        if (await log.CountLoginFailuresAsync(AccountKey(account), since, ct) < maxPerAccount)
        {
            return null;
        }

        // Past the account's limit: an address the owner has used lately keeps its own count.
        var now = Clock.GetUtcNow();
        if (await log.CountLoginFailuresAsync(FamiliarKey(account, clientAddress), now - _familiarFor, ct) > 0
            && await log.CountLoginFailuresAsync(PairKey(account, clientAddress), since, ct) < maxPerAccount)
        {
            return null;
        }

        return "too many failed logins for this account";
    }

    public async Task FailedAsync(string clientAddress, string account, CancellationToken ct = default)
    {
        var now = Clock.GetUtcNow();
        await log.RecordLoginFailureAsync(AddressKey(clientAddress), now, ct);
        await log.RecordLoginFailureAsync(AccountKey(account), now, ct);
        await log.RecordLoginFailureAsync(PairKey(account, clientAddress), now, ct);
    }

    /// <summary>A good login: the account's count starts again, and the address becomes (or stays) familiar, one mark a day.</summary>
    public async Task SucceededAsync(string account, string clientAddress, CancellationToken ct = default)
    {
        await log.ClearLoginFailuresAsync(AccountKey(account), ct);
        var now = Clock.GetUtcNow();
        var familiar = FamiliarKey(account, clientAddress);
        if (await log.CountLoginFailuresAsync(familiar, now - TimeSpan.FromDays(1), ct) == 0)
        {
            await log.RecordLoginFailureAsync(familiar, now, ct);
        }
    }

    /// <summary>
    /// Accounts and addresses refused right now (for admins: `sealpost user lockouts`). Account entries
    /// are hashes; those of <paramref name="knownAccounts"/> are shown by name, others as "(not an account)".
    /// </summary>
    public async Task<IReadOnlyList<Lockout>> LockedAsync(IEnumerable<string> knownAccounts, CancellationToken ct = default)
    {
        var names = knownAccounts.ToDictionary(a => AccountKey(a), a => a, StringComparer.Ordinal);
        var result = new List<Lockout>();
        foreach (var entry in await log.ListLoginFailuresAsync(Clock.GetUtcNow() - window, ct))
        {
            if (!entry.Key.StartsWith("ip:", StringComparison.Ordinal) && !entry.Key.StartsWith("acct:", StringComparison.Ordinal))
            {
                continue; // familiar addresses and per-address counts of an account are not lockouts of their own
            }

            var isAddress = entry.Key.StartsWith("ip:", StringComparison.Ordinal);
            if (entry.Failures >= (isAddress ? maxPerAddress : maxPerAccount))
            {
                var subject = isAddress ? entry.Key[3..] : names.GetValueOrDefault(entry.Key, "(not an account)");
                result.Add(new Lockout(isAddress ? "address" : "account", subject, entry.Failures, entry.Last + window));
            }
        }

        return result;
    }

    /// <summary>Lifts an account's lockout (an admin who has checked with its owner).</summary>
    public Task UnlockAccountAsync(string account, CancellationToken ct = default) => log.ClearLoginFailuresAsync(AccountKey(account), ct);

    /// <summary>Forgets failures older than the window, and familiar addresses not used for <c>familiarFor</c>.</summary>
    public async Task<int> PruneAsync(CancellationToken ct = default) =>
        await log.PruneLoginFailuresAsync(Clock.GetUtcNow() - window, FamiliarPrefix, ct)
        + await log.PruneLoginFailuresAsync(Clock.GetUtcNow() - (_familiarFor > window ? _familiarFor : window), null, ct);
}

/// <summary>Failed logins in this process only (tests, tools).</summary>
public sealed class InMemoryLoginFailures : ILoginFailureLog
{
    private readonly ConcurrentDictionary<string, List<DateTimeOffset>> _failures = new(StringComparer.Ordinal);

    public Task RecordLoginFailureAsync(string key, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var list = _failures.GetOrAdd(key, _ => []);
        lock (list)
        {
            list.Add(at);
            if (list.Count > 1000)
            {
                list.RemoveAt(0);
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> CountLoginFailuresAsync(string key, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        if (!_failures.TryGetValue(key, out var list))
        {
            return Task.FromResult(0);
        }

        lock (list)
        {
            return Task.FromResult(list.Count(t => t >= since));
        }
    }

    public Task ClearLoginFailuresAsync(string key, CancellationToken cancellationToken = default)
    {
        _failures.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LoginFailureCount>> ListLoginFailuresAsync(DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        var result = new List<LoginFailureCount>();
        foreach (var (key, list) in _failures)
        {
            lock (list)
            {
                var recent = list.Where(t => t >= since).ToList();
                if (recent.Count > 0)
                {
                    result.Add(new LoginFailureCount(key, recent.Count, recent.Max()));
                }
            }
        }

        return Task.FromResult<IReadOnlyList<LoginFailureCount>>(result);
    }

    public Task<int> PruneLoginFailuresAsync(DateTimeOffset before, string? keepPrefix = null, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        foreach (var (key, list) in _failures)
        {
            if (keepPrefix is not null && key.StartsWith(keepPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            lock (list)
            {
                removed += list.RemoveAll(t => t < before);
            }
        }

        return Task.FromResult(removed);
    }
}
