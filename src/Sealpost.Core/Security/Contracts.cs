using Sealpost.Core.Directory;

namespace Sealpost.Core.Security;

/// <summary>
/// Folder and keyword names as the store keeps them: an opaque sealed form plus a lookup key.
/// The mail service is the only caller; the store never sees a name. An account session provides
/// one keyed by that account's key (so a dictionary attack on lookup keys needs the account key).
/// </summary>
public interface INameProtector
{
    byte[] LookupKey(long accountId, string name);

    /// <summary>A keyword's name, sealed under the account key.</summary>
    byte[] Seal(long accountId, string name);

    /// <summary>
    /// A folder's name with the folder's own key: the name sealed under the folder key, the folder key
    /// wrapped under the account key. The key of <paramref name="keepKeyOf"/> (the folder's current sealed
    /// name, on a rename) is kept where this protector can open it, so the folder's messages stay readable;
    /// otherwise the folder gets a new random key.
    /// </summary>
    byte[] SealFolder(long accountId, string name, byte[]? keepKeyOf = null);

    /// <summary>The name, or null if this protector cannot open it (sealed under a key it does not hold).</summary>
    string? Unseal(long accountId, byte[] sealedName);
}

/// <summary>An unlocked account: what a logged-in owner's session can open and seal.</summary>
public interface IAccountSession : IDisposable
{
    long AccountId { get; }

    /// <summary>The key version new data is sealed under.</summary>
    int CurrentKeyVersion { get; }

    /// <summary>The key versions this session can open.</summary>
    IReadOnlyCollection<int> KeyVersions { get; }

    INameProtector Names { get; }

    /// <summary>Unlocked with the password an administrator set at a reset, which the owner has not replaced yet.</summary>
    bool AfterReset => false;
}

/// <summary>
/// Account keys and credentials (ARCHITECTURE §3). Implemented by the vault; the directory service
/// calls it so that no account exists without a key ring.
/// </summary>
public interface IAccountVault
{
    /// <summary>Makes the key pair of a new account, wrapped to its (provisional) password and to the recovery key.</summary>
    Task<IAccountSession> ProvisionAsync(Account account, string password, CancellationToken ct = default);

    /// <summary>
    /// Makes the key pair (version 1) of an account its owner has not enrolled yet: wrapped to a
    /// one-time enrolment token (returned, shown once; it expires at the time returned) and to the recovery key. Mail can arrive at once.
    /// </summary>
    Task<(IAccountSession Session, string Token, DateTimeOffset ExpiresAt)> ProvisionForEnrolmentAsync(Account account, CancellationToken ct = default);

    /// <summary>
    /// Redeems an enrolment token: the owner's own password gets a new key version that the token never
    /// wrapped, everything is re-wrapped to it, and the token is spent (its verifier kept to recognise a
    /// second use). <paramref name="from"/> (the client address) is kept with the redemption.
    /// </summary>
    Task<EnrolmentResult> RedeemEnrolmentAsync(Account account, string token, string newPassword, string from, CancellationToken ct = default);

    /// <summary>When and from where the account's enrolment token was redeemed, if it was.</summary>
    Task<EnrolmentRecord?> GetEnrolmentAsync(Account account, CancellationToken ct = default);

    /// <summary>Unlocks with a password or app password; null if it matches no credential.</summary>
    Task<IAccountSession?> UnlockAsync(Account account, string secret, CancellationToken ct = default);

    /// <summary>
    /// Replaces the password; the old one must be right. The key is re-wrapped, except when the owner
    /// (<paramref name="byOwner"/>) replaces a provisional password: then the account gets a new key
    /// version wrapped only under the new password, everything is re-wrapped to it and the old wraps
    /// (app passwords issued under them too) go. A password set by anyone else is provisional.
    /// </summary>
    /// <returns>True if a new key version was made.</returns>
    Task<bool> ChangePasswordAsync(Account account, string oldPassword, string newPassword, bool byOwner, CancellationToken ct = default);

    /// <summary>
    /// Reset without the old password: a new key pair; the old private key stays wrapped only to the
    /// recovery key; every credential is replaced; the owner is told by a message in their inbox.
    /// </summary>
    Task<IAccountSession> ResetPasswordAsync(Account account, string newPassword, CancellationToken ct = default);

    /// <summary>
    /// A reset in which nobody but the owner ever knows a password: as <see cref="ResetPasswordAsync"/>, but
    /// the new key version is wrapped to a one-time enrolment token (returned, shown once) instead.
    /// </summary>
    Task<(IAccountSession Session, string Token, DateTimeOffset ExpiresAt)> ResetForEnrolmentAsync(Account account, CancellationToken ct = default);

    /// <summary>A new key pair for an account whose owner proves the password; everything re-wrapped to it.</summary>
    Task RotateKeyAsync(Account account, string password, CancellationToken ct = default);

    /// <summary>A new app password (≥128 bits, generated here), shown once; it wraps the current key.</summary>
    Task<string> CreateAppPasswordAsync(IAccountSession session, string label, CancellationToken ct = default);

    /// <summary>Spends the work of one password check, so unknown users cost what known ones do.</summary>
    Task SpendPasswordWorkAsync(string secret, CancellationToken ct = default);
}

public enum EnrolmentOutcome
{
    Enrolled,
    /// <summary>The token matches no live token of the account (mistyped, or another account's).</summary>
    Wrong,
    Expired,
    /// <summary>The token was redeemed before: the person should report it if that was not them.</summary>
    AlreadyUsed,
}

/// <summary>A redemption: when and from which client address.</summary>
public sealed record EnrolmentRecord(DateTimeOffset At, string From);

public sealed record EnrolmentResult(EnrolmentOutcome Outcome, EnrolmentRecord? Earlier = null);
