using System.Text;

namespace Sealpost.Smtp;

/// <summary>The header fields the SMTP server adds to every message it accepts.</summary>
public static class TraceHeaders
{
    /// <summary>Prepends trace headers (RFC 5321 §4.4) and, for submission, Message-ID and Date when missing (RFC 6409 §8).</summary>
    public static byte[] Add(byte[] message, string returnPath, string received, bool submission, string hostname)
    {
        var prefix = new StringBuilder();
        prefix.Append("Return-Path: <").Append(returnPath).Append(">\r\n");
        prefix.Append(received);
        if (submission)
        {
            var headerEnd = Sealpost.Mime.MessageAnalyzer.FindBodyStart(message, 0, message.Length);
            var header = Encoding.UTF8.GetString(message, 0, (int)headerEnd);
            if (!HasField(header, "message-id"))
            {
                prefix.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append('@').Append(hostname).Append(">\r\n");
            }

            if (!HasField(header, "date"))
            {
                prefix.Append("Date: ").Append(DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)).Append(" +0000\r\n");
            }
        }

        return [.. Encoding.UTF8.GetBytes(prefix.ToString()), .. message];
    }

    private static bool HasField(string header, string name) =>
        header.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase) || header.Contains("\n" + name + ":", StringComparison.OrdinalIgnoreCase);
}
