using Sealpost.Core.Storage;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Sealpost.Store.Sqlite;

/// <summary>
/// Large blobs as files under DATA/blobs/xx/name. A file is written, fsynced, and its directory
/// entry fsynced before the caller commits the row that points to it; a file without a row is an
/// orphan that the sweep removes once it is older than the grace period.
/// </summary>
internal sealed partial class BlobFiles(string root)
{
    public string Root { get; } = root;

    public static string NewName() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public string PathOf(string name) => Path.Combine(Root, name[..2], name);

    public async Task WriteDurablyAsync(string name, Stream content, long length, CancellationToken ct)
    {
        var dir = Path.Combine(Root, name[..2]);
        var created = !System.IO.Directory.Exists(dir);
        System.IO.Directory.CreateDirectory(dir);
        if (created)
        {
            FsyncDirectory(Root);
        }

        var path = Path.Combine(dir, name);
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
        {
            var buffer = new byte[81920];
            long remaining = length;
            while (remaining > 0)
            {
                var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), ct);
                if (read == 0)
                {
                    throw new EndOfStreamException($"blob content ended {remaining} bytes early");
                }

                await file.WriteAsync(buffer.AsMemory(0, read), ct);
                remaining -= read;
            }

            file.Flush(flushToDisk: true);
        }

        FsyncDirectory(dir);
    }

    private readonly object _holdLock = new();
    private int _holds;
    private readonly List<string> _held = [];

    /// <summary>
    /// Until disposed, deletions wait: a backup copying the files of a database snapshot finds every file
    /// that snapshot names, even if the row went away since.
    /// </summary>
    public IDisposable HoldDeletions()
    {
        lock (_holdLock)
        {
            _holds++;
        }

        return new Hold(this);
    }

    private sealed class Hold(BlobFiles files) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 1)
            {
                return;
            }

            List<string> due;
            lock (files._holdLock)
            {
                if (--files._holds > 0)
                {
                    return;
                }

                due = [.. files._held];
                files._held.Clear();
            }

            foreach (var name in due)
            {
                files.TryDelete(name);
            }
        }
    }

    public void TryDelete(string name)
    {
        lock (_holdLock)
        {
            if (_holds > 0)
            {
                _held.Add(name);
                return;
            }
        }

        try
        {
            File.Delete(PathOf(name));
        }
        catch (IOException)
        {
            // Left for the orphan sweep.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Copies every blob file into <paramref name="folder"/> (same layout), fsynced; what it copied.</summary>
    public BackupStats CopyTo(string folder)
    {
        var files = 0;
        long bytes = 0;
        if (!System.IO.Directory.Exists(Root))
        {
            return new BackupStats(0, 0);
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(folder, Path.GetRelativePath(Root, path));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
            {
                source.CopyTo(copy);
                copy.Flush(flushToDisk: true);
                bytes += copy.Length;
            }

            files++;
        }

        return new BackupStats(files, bytes);
    }

    public IEnumerable<(string Name, DateTime LastWriteUtc)> Enumerate()
    {
        if (!System.IO.Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            yield return (Path.GetFileName(path), File.GetLastWriteTimeUtc(path));
        }
    }

    /// <summary>A new directory entry is durable only once its directory is fsynced (POSIX).</summary>
    private static void FsyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Open(path, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            return;
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of blob directory failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
