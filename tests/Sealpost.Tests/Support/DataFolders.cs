using System.Text;

namespace Sealpost.Tests.Support;

/// <summary>What an operator with root does with a data folder in these tests: copy it, search its bytes.</summary>
public static class DataFolders
{
    /// <summary>
    /// A copy of a (possibly live) data folder, as a second node or an operator's backup would hold it. Sockets
    /// and process locks (the audit spool's advisory lock) are not data and are left out.
    /// </summary>
    public static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".sock", StringComparison.Ordinal) || file.EndsWith(".lock", StringComparison.Ordinal))
            {
                continue;
            }

            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>A copy of a test runtime's data folder and of its master key file beside it: everything at rest.</summary>
    public static string CopyWithMasterKey(TestRuntime test, string name)
    {
        var copy = Path.Combine(test.Root, name);
        Copy(test.DataDirectory, copy);
        File.Copy(TestOptions.MasterKeyFile(test.DataDirectory), TestOptions.MasterKeyFile(copy));
        return copy;
    }

    /// <summary>Files under <paramref name="root"/> holding <paramref name="secret"/> raw, in base64 or in hex.</summary>
    public static List<string> FilesHolding(string root, byte[] secret)
    {
        var hits = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".sock", StringComparison.Ordinal) && File.ReadAllBytes(f).AsSpan().IndexOf(secret) >= 0)
            .Select(f => f + ": raw")
            .ToList();
        hits.AddRange(new MarkerScanner([Convert.ToBase64String(secret), Convert.ToHexString(secret), Convert.ToHexStringLower(secret)]).ScanTree(root));
        return hits;
    }
}

/// <summary>Small RFC 5322 messages for tests that deliver straight into the store.</summary>
public static class RawMessages
{
    public static byte[] Plain(string to, string subject) => Encoding.UTF8.GetBytes(
        $"From: <sender@remote.example>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n" +
        $"Message-ID: <{Guid.NewGuid():N}@remote.example>\r\n\r\n{subject} body\r\n");
}
