namespace Sealpost.Core.Security;

/// <summary>Turns a human password into a stored verifier and checks it. Implementations enforce their own floors.</summary>
public interface IPasswordHasher
{
    string Hash(string password);

    bool Verify(string password, string verifier);
}

/// <summary>
/// Folder and keyword names as the store keeps them: an opaque sealed form plus a lookup key.
/// The mail service is the only caller; the store never sees a name. Sealed storage replaces the
/// plaintext implementation with one keyed by the account key.
/// </summary>
public interface INameProtector
{
    byte[] LookupKey(long accountId, string name);

    byte[] Seal(long accountId, string name);

    string Unseal(long accountId, byte[] sealedName);
}
