using System.Text;

namespace Sealpost.Tests.Support;

/// <summary>
/// Looks for secret markers in stored bytes, in every form they could take: raw UTF-8, UTF-16LE,
/// JSON \u escapes, base64 at all three byte alignments, quoted-printable, and RFC 2047
/// encoded-words (B and Q). A hit in any form means plaintext reached storage.
/// </summary>
public sealed class MarkerScanner
{
    private readonly List<(string Marker, string Form, byte[] Pattern)> _patterns = [];

    public MarkerScanner(IEnumerable<string> markers)
    {
        foreach (var marker in markers)
        {
            var utf8 = Encoding.UTF8.GetBytes(marker);
            Add(marker, "utf-8", utf8);
            Add(marker, "utf-16le", Encoding.Unicode.GetBytes(marker));
            Add(marker, "json", Encoding.ASCII.GetBytes(string.Concat(marker.Select(c => c < 128 ? c.ToString() : $"\\u{(int)c:x4}"))));
            Add(marker, "json-upper", Encoding.ASCII.GetBytes(string.Concat(marker.Select(c => c < 128 ? c.ToString() : $"\\u{(int)c:X4}"))));
            for (var shift = 0; shift < 3; shift++)
            {
                Add(marker, $"base64+{shift}", Base64Core(utf8, shift));
            }

            Add(marker, "quoted-printable", Encoding.ASCII.GetBytes(QuotedPrintable(utf8)));
            Add(marker, "rfc2047-q", Encoding.ASCII.GetBytes(QuotedPrintable(utf8).Replace(' ', '_')));
        }
    }

    private void Add(string marker, string form, byte[] pattern)
    {
        if (pattern.Length >= 6 && !_patterns.Any(p => p.Pattern.AsSpan().SequenceEqual(pattern)))
        {
            _patterns.Add((marker, form, pattern));
        }
    }

    /// <summary>The base64 characters that depend only on the marker when it starts <paramref name="shift"/> bytes into a 3-byte group.</summary>
    private static byte[] Base64Core(byte[] bytes, int shift)
    {
        var padded = new byte[shift + bytes.Length + 3];
        bytes.CopyTo(padded, shift);
        var encoded = Convert.ToBase64String(padded);
        // Skip characters that mix in the prefix, stop before those that mix in the suffix.
        var start = shift == 0 ? 0 : (shift == 1 ? 2 : 3);
        var end = ((shift + bytes.Length) / 3) * 4;
        return start < end ? Encoding.ASCII.GetBytes(encoded[start..end]) : [];
    }

    private static string QuotedPrintable(byte[] bytes) =>
        string.Concat(bytes.Select(b => b is >= 33 and <= 126 and not (byte)'=' and not (byte)'?' and not (byte)'_' ? ((char)b).ToString() : $"={b:X2}"));

    public IReadOnlyList<string> Scan(string label, byte[] content)
    {
        var hits = new List<string>();
        foreach (var (marker, form, pattern) in _patterns)
        {
            if (content.AsSpan().IndexOf(pattern) >= 0)
            {
                hits.Add($"{label}: '{marker}' as {form}");
            }
        }

        return hits;
    }

    /// <summary>
    /// Every regular file under <paramref name="root"/> (optionally only those changed since
    /// <paramref name="since"/>). Regular files only: the temp folder holds the runtime's FIFOs and
    /// sockets, and opening those would block or disturb a live process.
    /// </summary>
    public IReadOnlyList<string> ScanTree(string root, DateTime? since = null, long maxFileBytes = 256L * 1024 * 1024)
    {
        var hits = new List<string>();
        if (!Directory.Exists(root))
        {
            return hits;
        }

        foreach (var path in RegularFiles(root))
        {
            try
            {
                var info = new FileInfo(path);
                if ((since is { } s && info.LastWriteTimeUtc < s) || info.Length > maxFileBytes)
                {
                    continue;
                }

                hits.AddRange(Scan(path, File.ReadAllBytes(path)));
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return hits;
    }

    private static List<string> RegularFiles(string root)
    {
        var info = new System.Diagnostics.ProcessStartInfo("find") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { root, "-xdev", "-type", "f", "-print0" })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
