using Sealpost.Core.Mail;

namespace Sealpost.Imap;

/// <summary>System flags as IMAP spells them (RFC 9051 §2.3.2).</summary>
internal static class Flags
{
    public static readonly (MessageFlags Flag, string Name)[] System =
    [
        (MessageFlags.Answered, "\\Answered"),
        (MessageFlags.Flagged, "\\Flagged"),
        (MessageFlags.Deleted, "\\Deleted"),
        (MessageFlags.Seen, "\\Seen"),
        (MessageFlags.Draft, "\\Draft"),
    ];

    public static MessageFlags? Parse(string name)
    {
        foreach (var (flag, text) in System)
        {
            if (text.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return flag;
            }
        }

        return null;
    }

    /// <summary>The parenthesised flag list of a message.</summary>
    public static string Format(MessageFlags flags, IEnumerable<string> keywords, bool recent)
    {
        var parts = System.Where(s => flags.HasFlag(s.Flag)).Select(s => s.Name).ToList();
        if (recent)
        {
            parts.Add("\\Recent");
        }

        parts.AddRange(keywords);
        return "(" + string.Join(' ', parts) + ")";
    }
}
