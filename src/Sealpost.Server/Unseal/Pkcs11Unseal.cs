using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Sealpost.Core;
using Sealpost.Core.Configuration;

namespace Sealpost.Server.Unseal;

/// <summary>What a folder's auto-unseal provider keeps in unseal.json: never a key, only the master key as the provider wrapped it.</summary>
public sealed record AutoUnsealRecord(string Provider, string Token, string KeyLabel, string Wrapped)
{
    /// <summary>The master key, unwrapped by the provider that wrapped it; a one-line reason if it cannot.</summary>
    public byte[] Unwrap(SealpostOptions options) => Provider switch
    {
        Pkcs11Unseal.Provider => Pkcs11Unseal.Unwrap(options.Vault.Pkcs11, this),
        Tpm2Unseal.Provider => Tpm2Unseal.Unwrap(options.Vault.Tpm2, this),
        _ => throw SealpostException.Invalid($"unseal.json names an unknown auto-unseal provider '{Provider}'"),
    };

    public override string ToString() => Provider == Pkcs11Unseal.Provider ? $"pkcs11 token '{Token}' key '{KeyLabel}'" : $"{Provider} ({Token}, {KeyLabel})";
}

/// <summary>
/// The <c>pkcs11</c> auto-unseal provider: an AES-256 key generated inside the HSM (sensitive, not
/// extractable) wraps the master key with AES-GCM (PKCS#11 v2.40 CKM_AES_GCM, 96-bit IV, 128-bit tag).
/// Whoever can log in to the token (its PIN file and the device, i.e. root on the node) can unwrap the
/// master key; a copy of the data folder alone cannot.
/// </summary>
public static class Pkcs11Unseal
{
    public const string Provider = "pkcs11";
    private static readonly byte[] Aad = "sealpost/master-wrap/v1"u8.ToArray();

    static Pkcs11Unseal()
    {
        // Pkcs11Interop loads modules through dlopen imported from "libdl", a name only the -dev package
        // provides; glibc ships it as libdl.so.2 (and within libc since 2.34).
        NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, (name, _, _) =>
            name == "libdl" && NativeLibrary.TryLoad("libdl.so.2", out var handle) ? handle : IntPtr.Zero);
    }

    /// <summary>Wraps <paramref name="masterKey"/> under the token's wrapping key, making that key if the token has none.</summary>
    public static AutoUnsealRecord Wrap(Pkcs11Options options, byte[] masterKey) => WithSession(options, (factories, session) =>
    {
        var key = FindKey(factories, session, options.KeyLabel) ?? session.GenerateKey(factories.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN),
        [
            factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            factories.ObjectAttributeFactory.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
            factories.ObjectAttributeFactory.Create(CKA.CKA_VALUE_LEN, 32UL),
            factories.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, true),
            factories.ObjectAttributeFactory.Create(CKA.CKA_PRIVATE, true),
            factories.ObjectAttributeFactory.Create(CKA.CKA_SENSITIVE, true),
            factories.ObjectAttributeFactory.Create(CKA.CKA_EXTRACTABLE, false),
            factories.ObjectAttributeFactory.Create(CKA.CKA_ENCRYPT, true),
            factories.ObjectAttributeFactory.Create(CKA.CKA_DECRYPT, true),
            factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, options.KeyLabel),
        ]);
        var iv = RandomNumberGenerator.GetBytes(12);
        var sealedKey = session.Encrypt(Gcm(factories, iv), key, masterKey);
        return new AutoUnsealRecord(Provider, options.TokenLabel!, options.KeyLabel, Convert.ToBase64String([.. iv, .. sealedKey]));
    });

    /// <summary>The master key, unwrapped inside the HSM; a one-line reason if the HSM cannot or will not.</summary>
    public static byte[] Unwrap(Pkcs11Options options, AutoUnsealRecord record)
    {
        var wrapped = Wrapped(record);
        return WithSession(options, (factories, session) =>
        {
            var key = FindKey(factories, session, record.KeyLabel)
                ?? throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"the token '{record.Token}' has no key labelled '{record.KeyLabel}'");
            return Decrypt(factories, session, key, wrapped, record);
        });
    }

    // IV (12) + ciphertext of a 32-byte key + tag (16): anything else is a damaged unseal.json.
    private static byte[] Wrapped(AutoUnsealRecord record)
    {
        try
        {
            var wrapped = Convert.FromBase64String(record.Wrapped);
            return wrapped.Length == 12 + 32 + 16 ? wrapped : throw SealpostException.Invalid("unseal.json: the pkcs11 wrap is damaged");
        }
        catch (FormatException)
        {
            throw SealpostException.Invalid("unseal.json: the pkcs11 wrap is damaged");
        }
    }

    private static byte[] Decrypt(Pkcs11InteropFactories factories, ISession session, IObjectHandle key, byte[] wrapped, AutoUnsealRecord record)
    {
        try
        {
            return session.Decrypt(Gcm(factories, wrapped[..12]), key, wrapped[12..]);
        }
        catch (Pkcs11Exception ex) when (ex.RV is CKR.CKR_ENCRYPTED_DATA_INVALID or CKR.CKR_ENCRYPTED_DATA_LEN_RANGE or CKR.CKR_GENERAL_ERROR)
        {
            throw new SealpostException(ErrorKind.Forbidden, $"the token's key '{record.KeyLabel}' does not open this folder's master key ({ex.RV})");
        }
    }

    private static IMechanism Gcm(Pkcs11InteropFactories factories, byte[] iv) =>
        factories.MechanismFactory.Create(CKM.CKM_AES_GCM, factories.MechanismParamsFactory.CreateCkGcmParams(iv, 96, Aad, 128));

    private static IObjectHandle? FindKey(Pkcs11InteropFactories factories, ISession session, string label) =>
        session.FindAllObjects(
        [
            factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, label),
        ]).FirstOrDefault();

    private static T WithSession<T>(Pkcs11Options options, Func<Pkcs11InteropFactories, ISession, T> work)
    {
        if (string.IsNullOrWhiteSpace(options.Library) || string.IsNullOrWhiteSpace(options.TokenLabel) || string.IsNullOrWhiteSpace(options.PinFile))
        {
            throw SealpostException.Invalid("Vault:Pkcs11:Library, Vault:Pkcs11:TokenLabel and Vault:Pkcs11:PinFile are all needed for the pkcs11 provider");
        }

        var pin = ReadPin(options.PinFile);
        var factories = new Pkcs11InteropFactories();
        try
        {
            using var library = factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, options.Library, AppType.MultiThreaded);
            var slot = library.GetSlotList(SlotsType.WithTokenPresent).FirstOrDefault(s => s.GetTokenInfo().Label.Trim() == options.TokenLabel)
                ?? throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"no token labelled '{options.TokenLabel}' is present in {options.Library}");
            using var session = slot.OpenSession(SessionType.ReadWrite);
            try
            {
                session.Login(CKU.CKU_USER, pin);
            }
            catch (Pkcs11Exception ex) when (ex.RV is CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE or CKR.CKR_PIN_LOCKED)
            {
                throw new SealpostException(ErrorKind.Forbidden, $"the token '{options.TokenLabel}' refused the PIN in {options.PinFile} ({ex.RV})");
            }

            try
            {
                return work(factories, session);
            }
            finally
            {
                session.Logout();
            }
        }
        catch (Pkcs11Exception ex)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"the HSM answered {ex.RV} to {ex.Method}");
        }
        catch (Exception ex) when (ex is UnmanagedException or DllNotFoundException or EntryPointNotFoundException)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"cannot load the PKCS#11 library {options.Library}: {ex.Message}");
        }
    }

    private static string ReadPin(string path)
    {
        if (!File.Exists(path))
        {
            throw SealpostException.Invalid($"Vault:Pkcs11:PinFile: '{path}' does not exist");
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw SealpostException.Invalid($"Vault:Pkcs11:PinFile: '{path}' is readable by others; chmod 600 it");
        }

        return File.ReadAllText(path).Trim();
    }
}
