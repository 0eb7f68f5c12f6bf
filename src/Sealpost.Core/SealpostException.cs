namespace Sealpost.Core;

/// <summary>What went wrong, in terms a caller can act on. Protocols map these to their own replies.</summary>
public enum ErrorKind
{
    /// <summary>The input is malformed or violates a rule (bad address, bad option).</summary>
    InvalidInput,
    /// <summary>The thing named does not exist.</summary>
    NotFound,
    /// <summary>The thing already exists, or the change conflicts with current state.</summary>
    Conflict,
    /// <summary>The caller may not do this.</summary>
    Forbidden,
    /// <summary>A limit or quota would be exceeded.</summary>
    LimitExceeded,
    /// <summary>The store cannot be reached right now; retrying later may succeed.</summary>
    TemporarilyUnavailable,
}

/// <summary>
/// An expected, user-facing failure with a one-line message. Anything else that escapes a
/// service is a bug and is reported as an internal error without details.
/// </summary>
public class SealpostException(ErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorKind Kind { get; } = kind;

    public static SealpostException Invalid(string message) => new(ErrorKind.InvalidInput, message);
    public static SealpostException NotFound(string message) => new(ErrorKind.NotFound, message);
    public static SealpostException Conflict(string message) => new(ErrorKind.Conflict, message);
    public static SealpostException Limit(string message) => new(ErrorKind.LimitExceeded, message);
}
