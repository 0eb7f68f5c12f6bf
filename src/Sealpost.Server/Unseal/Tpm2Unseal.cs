using System.Diagnostics;
using System.Security.Cryptography;
using Sealpost.Core;
using Sealpost.Core.Configuration;

namespace Sealpost.Server.Unseal;

/// <summary>
/// The <c>tpm2</c> auto-unseal provider: the master key sealed as a TPM 2.0 data object under a primary
/// key of the owner hierarchy (ECC P-256, SHA-256), through tpm2-tools (TPM2_Create / TPM2_Load /
/// TPM2_Unseal). unseal.json keeps the object's public and private blobs; the private blob is encrypted
/// by the TPM's storage key, so only that TPM opens it. The key passes through the tools' standard input
/// and output, never a file; their context files are TPM-wrapped handles in a private temporary folder.
/// No PCR policy: the object opens on that machine whatever it booted.
/// </summary>
public static class Tpm2Unseal
{
    public const string Provider = "tpm2";
    private const string Hierarchy = "owner hierarchy";
    private const string Object = "sealed data object";

    public static AutoUnsealRecord Wrap(Tpm2Options options, byte[] masterKey) => InScratch(options, scratch =>
    {
        Primary(options, scratch);
        Run(options, "tpm2_create", ["-C", P(scratch, "primary.ctx"), "-g", "sha256", "-u", P(scratch, "seal.pub"), "-r", P(scratch, "seal.priv"), "-i", "-"], masterKey);
        Run(options, "tpm2_flushcontext", ["-t"]);
        var wrapped = Convert.ToBase64String(File.ReadAllBytes(P(scratch, "seal.pub"))) + "." + Convert.ToBase64String(File.ReadAllBytes(P(scratch, "seal.priv")));
        return new AutoUnsealRecord(Provider, Hierarchy, Object, wrapped);
    });

    public static byte[] Unwrap(Tpm2Options options, AutoUnsealRecord record) => InScratch(options, scratch =>
    {
        var parts = record.Wrapped.Split('.');
        if (parts.Length != 2)
        {
            throw SealpostException.Invalid("unseal.json: the tpm2 wrap is damaged");
        }

        File.WriteAllBytes(P(scratch, "seal.pub"), Convert.FromBase64String(parts[0]));
        File.WriteAllBytes(P(scratch, "seal.priv"), Convert.FromBase64String(parts[1]));
        Primary(options, scratch);
        Run(options, "tpm2_load", ["-C", P(scratch, "primary.ctx"), "-u", P(scratch, "seal.pub"), "-r", P(scratch, "seal.priv"), "-c", P(scratch, "seal.ctx")]);
        Run(options, "tpm2_flushcontext", ["-t"]);
        try
        {
            return Run(options, "tpm2_unseal", ["-c", P(scratch, "seal.ctx")]);
        }
        finally
        {
            Run(options, "tpm2_flushcontext", ["-t"]);
        }
    });

    // The same primary key every time: a deterministic derivation from the owner hierarchy's seed.
    private static void Primary(Tpm2Options options, string scratch)
    {
        Run(options, "tpm2_flushcontext", ["-t"]); // a TPM without a resource manager keeps few transient objects
        Run(options, "tpm2_createprimary", ["-C", "o", "-g", "sha256", "-G", "ecc", "-c", P(scratch, "primary.ctx")]);
        Run(options, "tpm2_flushcontext", ["-t"]);
    }

    private static string P(string scratch, string name) => Path.Combine(scratch, name);

    private static T InScratch<T>(Tpm2Options options, Func<string, T> work)
    {
        var scratch = Directory.CreateTempSubdirectory("sealpost-tpm2-").FullName;
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(scratch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            return work(scratch);
        }
        catch (FormatException)
        {
            throw SealpostException.Invalid("unseal.json: the tpm2 wrap is damaged");
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Runs one tpm2-tools command; its standard output, or a one-line reason.</summary>
    private static byte[] Run(Tpm2Options options, string tool, IReadOnlyList<string> args, byte[]? stdin = null)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["TPM2TOOLS_TCTI"] = options.Tcti;
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"{tool} is not installed (Debian: apt install tpm2-tools)");
        }

        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            using var output = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
            if (stdin is not null)
            {
                process.StandardInput.BaseStream.Write(stdin);
            }

            process.StandardInput.Close();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill(entireProcessTree: true);
                throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"{tool} did not finish within 30 s (is the TPM at '{options.Tcti}' reachable?)");
            }

            copy.Wait();
            if (process.ExitCode != 0)
            {
                var reason = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("ERROR", StringComparison.Ordinal)) ?? $"exit code {process.ExitCode}";
                throw new SealpostException(ErrorKind.TemporarilyUnavailable, $"{tool}: {reason}");
            }

            var bytes = output.ToArray();
            CryptographicOperations.ZeroMemory(output.GetBuffer());
            return bytes;
        }
    }
}
