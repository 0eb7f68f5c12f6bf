using System.Globalization;

namespace Sealpost.Delivery;

/// <summary>What one recipient got: an SMTP reply from the peer, or one we made for a failure before it (DNS, connection).</summary>
public sealed record DeliveryReply(int Code, string Text)
{
    public bool Success => Code is >= 200 and < 300;

    public bool IsPermanent => Code >= 500;

    /// <summary>The enhanced status code (RFC 3463) the text starts with, or one made from the basic code.</summary>
    public string Status
    {
        get
        {
            var first = Text.Split(' ', 2)[0];
            var parts = first.Split('.');
            return parts.Length == 3 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)) && parts[0] == (Code / 100).ToString(CultureInfo.InvariantCulture)
                ? first
                : Code >= 500 ? "5.0.0" : Code >= 400 ? "4.0.0" : "2.0.0";
        }
    }

    /// <summary>A 5xx reply we make ourselves; a line of another class is a bug.</summary>
    public static DeliveryReply Permanent(string line) => OfClass(line, 5);

    /// <summary>A 4xx reply we make ourselves; a line of another class is a bug.</summary>
    public static DeliveryReply Temporary(string line) => OfClass(line, 4);

    private static DeliveryReply OfClass(string line, int first)
    {
        var reply = Parse(line);
        return reply.Code / 100 == first ? reply : throw new ArgumentException($"'{line}' is not a {first}xx reply", nameof(line));
    }

    /// <summary>"451 4.4.1 text" → (451, "4.4.1 text").</summary>
    public static DeliveryReply Parse(string line)
    {
        var space = line.IndexOf(' ');
        return new DeliveryReply(int.Parse(line[..space], CultureInfo.InvariantCulture), line[(space + 1)..]);
    }

    public override string ToString() => $"{Code.ToString(CultureInfo.InvariantCulture)} {Text}";
}
