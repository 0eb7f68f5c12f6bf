using System.Reflection;
using Sealpost.Core;
using Sealpost.Core.Addressing;

namespace Sealpost.Domain.Administration;

/// <summary>
/// What a human password must be, checked at every set (NIST SP 800-63B §5.1.1.2): long enough, not
/// absurdly long, allowed by RFC 8265's OpaqueString profile (no control or invisible characters), not a password every breach list starts with (the bundled
/// list, also with digits and punctuation tacked on), not a run or a keyboard sequence, and not the
/// account's own name. No composition rules and no forced periodic change.
/// </summary>
public static class PasswordPolicy
{
    /// <summary>Minimum length of a human password.</summary>
    public const int MinimumLength = 8;

    /// <summary>Longest password accepted, so hashing cost stays bounded.</summary>
    public const int MaximumLength = 1024;

    private static readonly HashSet<string> Common = Load();

    private static readonly string[] Sequences =
    [
        "0123456789012345678901234567890", "9876543210987654321098765432109",
        "abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba",
        "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb", "1q2w3e4r5t6y7u8i9o0p",
    ];

    /// <summary>Throws <see cref="ErrorKind.InvalidInput"/> with a message the person can act on.</summary>
    public static void Check(string password, MailAddress? owner = null)
    {
        if (password.Length < MinimumLength)
        {
            throw SealpostException.Invalid($"password must be at least {MinimumLength} characters");
        }

        if (password.Length > MaximumLength)
        {
            throw SealpostException.Invalid($"password must be at most {MaximumLength} characters");
        }

        if (Crypto.Primitives.OpaqueString.Prepare(password, out var reason) is null)
        {
            throw SealpostException.Invalid($"password is not allowed: {reason}");
        }

        var lower = password.ToLowerInvariant();
        var stem = lower.TrimEnd("0123456789!@#$%^&*()-_=+.,?~ ".ToCharArray());
        if (Common.Contains(lower) || Common.Contains(stem) || (stem.Length > 0 && stem.Distinct().Count() == 1) || lower.Distinct().Count() == 1)
        {
            throw SealpostException.Invalid("password is on the list of commonly used passwords; choose a longer phrase of your own");
        }

        if (Sequences.Any(s => s.Contains(lower, StringComparison.Ordinal)))
        {
            throw SealpostException.Invalid("password is a keyboard or alphabet sequence; choose a longer phrase of your own");
        }

        if (owner is not null && owner.LocalPart.Length >= 3 && lower.Contains(owner.LocalPart.ToLowerInvariant(), StringComparison.Ordinal)
            && lower.Length < owner.LocalPart.Length + 6)
        {
            throw SealpostException.Invalid("password is too close to the account's own name");
        }
    }

    private static HashSet<string> Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("common-passwords.txt")
            ?? throw new InvalidOperationException("the bundled password list is missing from the build");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && line[0] != '#')
            {
                set.Add(line.Trim());
            }
        }

        return set;
    }
}
