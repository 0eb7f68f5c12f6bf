using System.Security.Cryptography;
using Sealpost.Core;

namespace Sealpost.Server;

/// <summary>
/// The data folder: DATA/sealpost.db, DATA/blobs/, DATA/tls/ (dev certificate), DATA/sealpost.json,
/// DATA/log-redaction.key, and DATA/DEV-ONLY in folders made by <c>serve --dev</c>, which plain
/// <c>serve</c> refuses.
/// </summary>
public sealed class DataFolder(string path)
{
    public const string DevMarkerName = "DEV-ONLY";
    public const string InitMarkerName = "sealpost.initialised";
    public const string LogKeyName = "log-redaction.key";
    public const string DevMasterKeyName = "dev-master.key";
    public const string DevRecoveryPrivateKeyName = "dev-recovery-private.key";

    /// <summary>Test rigs and --dev: two officer keys that endorse every new key version at once (one machine, so not the two-person rule).</summary>
    public const string LocalOfficersName = "local-officers.key";

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public string ConfigFile => System.IO.Path.Combine(Path, Configuration.ConfigurationLoader.FileName);

    public string TlsFolder => System.IO.Path.Combine(Path, "tls");

    public bool IsInitialised => File.Exists(System.IO.Path.Combine(Path, InitMarkerName));

    public bool IsDev => File.Exists(System.IO.Path.Combine(Path, DevMarkerName));

    /// <summary>Creates the folder layout; refuses a folder that is already initialised.</summary>
    public void Initialise(bool dev)
    {
        if (IsInitialised)
        {
            throw SealpostException.Conflict($"'{Path}' is already initialised");
        }

        if (Directory.Exists(Path) && Directory.EnumerateFileSystemEntries(Path).Any())
        {
            throw SealpostException.Conflict($"'{Path}' is not empty; choose an empty or new folder");
        }

        CreatePrivateDirectory(Path);
        CreatePrivateDirectory(TlsFolder);
        WritePrivateFile(System.IO.Path.Combine(Path, LogKeyName), RandomNumberGenerator.GetBytes(32));
        if (dev)
        {
            File.WriteAllText(System.IO.Path.Combine(Path, DevMarkerName),
                "This data folder was made by 'sealpost serve --dev'. It holds demo users and keys made on this machine;\n" +
                "'sealpost serve' without --dev refuses it. Do not use it for real mail.\n");
        }
    }

    /// <summary>Marks initialisation complete (last step of init, so a half-made folder is not mistaken for a good one).</summary>
    public void MarkInitialised() => File.WriteAllText(System.IO.Path.Combine(Path, InitMarkerName), DateTimeOffset.UtcNow.ToString("O") + "\n");

    public byte[] ReadLogKey()
    {
        var path = System.IO.Path.Combine(Path, LogKeyName);
        return File.Exists(path) ? File.ReadAllBytes(path) : throw SealpostException.NotFound($"'{path}' is missing; the data folder is incomplete");
    }

    /// <summary>
    /// Makes this (new or empty) folder from a backup written by <c>sealpost backup</c>: every file copied,
    /// then each database's integrity checked; a backup that fails a check leaves no folder behind.
    /// What it restored: files and octets.
    /// </summary>
    public async Task<Sealpost.Core.Storage.BackupStats> RestoreFromAsync(string backup, Sealpost.Core.Access.Actor actor, CancellationToken ct = default)
    {
        var restored = RestoreFrom(backup);
        // The restored trail says so itself: who restored which backup, as its next record.
        if (File.Exists(System.IO.Path.Combine(Path, Sealpost.Store.Sqlite.SqliteAuditStore.FileName)))
        {
            await using var audit = await Sealpost.Store.Sqlite.SqliteAuditStore.OpenAsync(Path, 5000, ct);
            await audit.AppendAsync(Environment.MachineName, [Sealpost.Core.Audit.AuditEvent.Of(actor, Sealpost.Core.Audit.AuditAction.BackupRestored, "data folder",
                Sealpost.Core.Audit.AuditOutcome.Success, $"{System.IO.Path.GetFileName(System.IO.Path.GetFullPath(backup).TrimEnd('/'))}: {restored.Files} files, {restored.Bytes} octets")], ct);
        }

        return restored;
    }

    private Sealpost.Core.Storage.BackupStats RestoreFrom(string backup)
    {
        var source = System.IO.Path.GetFullPath(backup);
        if (!Directory.Exists(source))
        {
            throw SealpostException.NotFound($"'{backup}' is not a folder");
        }

        if (source.EndsWith(".partial", StringComparison.Ordinal) || !File.Exists(System.IO.Path.Combine(source, InitMarkerName))
            || !File.Exists(System.IO.Path.Combine(source, Sealpost.Store.Sqlite.SqliteStore.DatabaseFileName)))
        {
            throw SealpostException.Invalid($"'{backup}' is not a complete backup (one written by 'sealpost backup' has {InitMarkerName} and {Sealpost.Store.Sqlite.SqliteStore.DatabaseFileName})");
        }

        if (Directory.Exists(Path) && Directory.EnumerateFileSystemEntries(Path).Any())
        {
            throw SealpostException.Conflict($"'{Path}' is not empty; restore into a new folder");
        }

        CreatePrivateDirectory(Path);
        var files = 0;
        long bytes = 0;
        try
        {
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var target = System.IO.Path.Combine(Path, System.IO.Path.GetRelativePath(source, file));
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
                File.Copy(file, target);
                files++;
                bytes += new FileInfo(target).Length;
            }

            foreach (var database in Directory.EnumerateFiles(Path, "*.db"))
            {
                if (Sealpost.Store.Sqlite.SqliteStore.CheckIntegrity(database) is { } problem)
                {
                    throw SealpostException.Invalid($"the backup's {System.IO.Path.GetFileName(database)} is damaged: {problem}");
                }
            }
        }
        catch
        {
            Directory.Delete(Path, recursive: true);
            throw;
        }

        return new Sealpost.Core.Storage.BackupStats(files, bytes);
    }

    /// <summary>Checks the folder can be served in the requested mode, with a message that says what to do.</summary>
    public void RequireServable(bool devMode)
    {
        if (!IsInitialised)
        {
            throw SealpostException.NotFound($"'{Path}' is not an initialised data folder; run 'sealpost init --data {Path}' first");
        }

        if (IsDev && !devMode)
        {
            throw new SealpostException(ErrorKind.Forbidden,
                $"'{Path}' was made by 'serve --dev' (demo keys, demo users) and cannot be served in production; initialise a new folder with 'sealpost init'");
        }
    }

    public static void CreatePrivateDirectory(string path)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public static void WritePrivateFile(string path, byte[] content)
    {
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
    }
}
