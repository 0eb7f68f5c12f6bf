using System.Security.Cryptography;
using Sealpost.Core;

namespace Sealpost.Crypto.Vault;

/// <summary>
/// Key files: one line "LABEL:base64". The master key file (server), and the recovery key pair that
/// security officers make offline with <c>sealpost recovery-key generate</c>: only its public half
/// is given to <c>init</c>.
/// </summary>
public static class KeyFiles
{
    public const string MasterLabel = "sealpost-master-key-v1";
    public const string RecoveryPublicLabel = "sealpost-recovery-public-key-v1";
    public const string RecoveryPrivateLabel = "sealpost-recovery-private-key-v1";

    public static byte[] Read(string path, string label, int length)
    {
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw SealpostException.NotFound($"cannot read '{path}': {ex.Message}");
        }

        var prefix = label + ":";
        if (!text.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw SealpostException.Invalid($"'{path}' is not a {label} file");
        }

        try
        {
            var bytes = Convert.FromBase64String(text[prefix.Length..]);
            return bytes.Length == length ? bytes : throw SealpostException.Invalid($"'{path}' holds a key of the wrong length");
        }
        catch (FormatException)
        {
            throw SealpostException.Invalid($"'{path}' is not valid base64");
        }
    }

    /// <summary>Writes a key file readable only by its owner; refuses to overwrite.</summary>
    public static void Write(string path, string label, byte[] key)
    {
        if (File.Exists(path))
        {
            throw SealpostException.Conflict($"'{path}' already exists; not overwriting a key");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var text = System.Text.Encoding.ASCII.GetBytes(label + ":" + Convert.ToBase64String(key) + "\n");
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            stream.Write(text);
            stream.Flush(flushToDisk: true);
        }

        CryptographicOperations.ZeroMemory(text);
    }

    /// <summary>The master key from its file, made first if <paramref name="create"/> and missing.</summary>
    public static byte[] LoadOrCreateMasterKey(string path, bool create)
    {
        if (!File.Exists(path))
        {
            if (!create)
            {
                throw SealpostException.NotFound($"master key file '{path}' does not exist (Vault:MasterKeyFile)");
            }

            var key = RandomNumberGenerator.GetBytes(32);
            Write(path, MasterLabel, key);
            return key;
        }

        return Read(path, MasterLabel, 32);
    }
}
