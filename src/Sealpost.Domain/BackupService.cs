using System.Globalization;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;
using Sealpost.Core.Storage;
using Sealpost.Domain.Audit;

namespace Sealpost.Domain;

/// <summary>A backup written: its folder's name, where it is, and what it holds.</summary>
public sealed record BackupResult(string Name, string Path, int Files, long Bytes);

/// <summary>
/// Backups of a running node's data folder (embedded store): the store and the audit trail copied
/// consistently while the server serves, and the folder's other files (keystore files, certificates,
/// configuration, markers). A backup is as sealed as the live folder: it opens nothing without the
/// master key the officers hold. Written under a ".partial" name and renamed when complete, so a
/// backup folder without that suffix is whole.
/// </summary>
[DomainService]
public sealed class BackupService(ISealpostStore store, AuditTrail audit, AccessGuard guard, string dataDirectory, string backupDirectory, TimeProvider time)
{
    /// <summary>Prefix of every backup folder's name; the rest is the UTC time it was started.</summary>
    public const string NamePrefix = "sealpost-backup-";

    /// <summary>The file name the audit trail is copied to inside a backup.</summary>
    public const string AuditFileName = "audit.db";

    [Requires(Operation.BackupCreate)]
    public Task<BackupResult> CreateAsync(Actor actor, CancellationToken ct) =>
        guard.AdministerAsync<BackupResult>(actor, AuditAction.BackupCreated, "data folder", async () =>
        {
            guard.Require(actor, Operation.BackupCreate, Scope.Platform);
            if (store.Kind != "sqlite")
            {
                await store.BackupToAsync(backupDirectory, ct); // refuses with the store's own advice
            }

            CreateOwnerOnly(backupDirectory);
            var name = NamePrefix + time.GetUtcNow().ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);
            var final = Path.Combine(backupDirectory, name);
            var partial = final + ".partial";
            if (Directory.Exists(final) || Directory.Exists(partial))
            {
                throw SealpostException.Conflict($"a backup named {name} is already there");
            }

            CreateOwnerOnly(partial);
            try
            {
                var stats = await store.BackupToAsync(partial, ct);
                await audit.Store.BackupToAsync(Path.Combine(partial, AuditFileName), ct);
                stats = stats.Add(new BackupStats(1, new FileInfo(Path.Combine(partial, AuditFileName)).Length));
                stats = stats.Add(CopyFolderFiles(dataDirectory, partial, backupDirectory));
                Directory.Move(partial, final);
                return (new BackupResult(name, final, stats.Files, stats.Bytes), $"{name}: {stats.Files} files, {stats.Bytes} octets");
            }
            catch
            {
                TryRemove(partial);
                throw;
            }
        }, ct);

    /// <summary>Files of the data folder that are not the store's or the trail's databases, blob files, locks or sockets.</summary>
    private static BackupStats CopyFolderFiles(string from, string to, string backups)
    {
        var files = 0;
        long bytes = 0;
        // A BackupDirectory inside the data folder must not be copied into its own backups.
        var skip = Path.GetFullPath(backups).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        foreach (var path in Directory.EnumerateFiles(from, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
        {
            var relative = Path.GetRelativePath(from, path);
            if (relative.StartsWith("blobs" + Path.DirectorySeparatorChar, StringComparison.Ordinal) || IsLive(Path.GetFileName(path))
                || Path.GetFullPath(path).StartsWith(skip, StringComparison.Ordinal))
            {
                continue;
            }

            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(path, target);
            files++;
            bytes += new FileInfo(target).Length;
        }

        return new BackupStats(files, bytes);
    }

    /// <summary>A folder only the server's user can enter (a backup is as private as the data folder).</summary>
    private static void CreateOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static bool IsLive(string name) =>
        name.EndsWith(".db", StringComparison.Ordinal) || name.EndsWith(".db-wal", StringComparison.Ordinal)
        || name.EndsWith(".db-shm", StringComparison.Ordinal) || name.EndsWith(".db-journal", StringComparison.Ordinal)
        || name.EndsWith(".lock", StringComparison.Ordinal) || name.EndsWith(".sock", StringComparison.Ordinal);

    private static void TryRemove(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
