using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace Sealpost.Mime;

/// <summary>
/// Computes <see cref="MessageMetadata"/> from the raw bytes of a message. It never throws: broken
/// MIME (bad boundaries, broken encodings, nesting deeper than the limit, 8-bit headers) yields a
/// best-effort structure flagged <see cref="MessageMetadata.Malformed"/>, the way Dovecot serves
/// whatever it can rather than refusing a message that was already accepted.
/// </summary>
public sealed partial class MessageAnalyzer(int maxMimeDepth = 32)
{
    /// <summary>Longest preview (RFC 8970 §3: at most 256 characters; 200 is what clients show).</summary>
    public const int PreviewLength = 200;

    private static readonly string[] SearchHeaderNames =
        ["from", "to", "cc", "bcc", "subject", "reply-to", "sender", "message-id", "in-reply-to", "references", "list-id", "date"];

    public MessageMetadata Analyze(ReadOnlyMemory<byte> raw)
    {
        try
        {
            return AnalyzeCore(raw);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Fallback(raw);
        }
    }

    private MessageMetadata AnalyzeCore(ReadOnlyMemory<byte> raw)
    {
        var bytes = raw.ToArray();
        var ranges = new Dictionary<MimeEntity, (long Begin, long End)>(ReferenceEqualityComparer.Instance);
        var messageRanges = new Dictionary<MimeMessage, (long Begin, long End)>(ReferenceEqualityComparer.Instance);
        var begins = new Dictionary<MimeEntity, long>(ReferenceEqualityComparer.Instance);
        var messageBegins = new Dictionary<MimeMessage, long>(ReferenceEqualityComparer.Instance);
        using var stream = new MemoryStream(bytes, writable: false);
        var options = new ParserOptions { MaxMimeDepth = maxMimeDepth };
        var parser = new MimeParser(options, stream, MimeFormat.Entity, persistent: true);
        parser.MimeEntityBegin += (_, e) => begins[e.Entity] = e.BeginOffset;
        parser.MimeEntityEnd += (_, e) => ranges[e.Entity] = (begins.GetValueOrDefault(e.Entity), e.EndOffset);
        parser.MimeMessageBegin += (_, e) => messageBegins[e.Message] = e.BeginOffset;
        parser.MimeMessageEnd += (_, e) => messageRanges[e.Message] = (messageBegins.GetValueOrDefault(e.Message), e.EndOffset);
        var message = parser.ParseMessage();

        var context = new BuildContext(bytes, ranges, messageRanges);
        var metadata = new MessageMetadata
        {
            Envelope = BuildEnvelope(message),
            Body = BuildMessageBody(context, message, 0, bytes.Length, depth: 0),
            BaseSubject = BaseSubject(message.Subject ?? ""),
            SentDate = message.Headers.Contains(HeaderId.Date) && message.Date != DateTimeOffset.MinValue ? message.Date.ToUnixTimeSeconds() : null,
            Preview = Preview(message),
            MessageId = message.MessageId,
            InReplyTo = message.InReplyTo is { } irt ? [irt] : [],
            References = [.. message.References],
            HasAttachments = message.Attachments.Any(),
            Malformed = context.Malformed,
        };

        foreach (var header in message.Headers)
        {
            var name = header.Field.ToLowerInvariant();
            if (SearchHeaderNames.Contains(name))
            {
                var value = header.Value ?? "";
                metadata.SearchHeaders[name] = metadata.SearchHeaders.TryGetValue(name, out var existing) ? existing + "\n" + value : value;
            }
        }

        return metadata;
    }

    private sealed class BuildContext(byte[] bytes, Dictionary<MimeEntity, (long Begin, long End)> ranges, Dictionary<MimeMessage, (long Begin, long End)> messageRanges)
    {
        public byte[] Bytes { get; } = bytes;
        public Dictionary<MimeEntity, (long Begin, long End)> Ranges { get; } = ranges;
        public Dictionary<MimeMessage, (long Begin, long End)> MessageRanges { get; } = messageRanges;
        public bool Malformed { get; set; }
    }

    /// <summary>The body part of a message whose bytes are [begin, end): the header is the message header.</summary>
    private BodyPart BuildMessageBody(BuildContext context, MimeMessage message, long begin, long end, int depth)
    {
        var body = message.Body;
        var bodyStart = FindBodyStart(context.Bytes, begin, end);
        if (body is null)
        {
            return Leaf(context, null, begin, bodyStart, end);
        }

        return Build(context, body, begin, bodyStart, end, depth);
    }

    private BodyPart Build(BuildContext context, MimeEntity entity, long headerOffset, long bodyStart, long end, int depth)
    {
        if (entity is Multipart multipart && depth < maxMimeDepth)
        {
            var part = Describe(entity, headerOffset, bodyStart, end, context);
            part.Parts = [];
            foreach (var child in multipart)
            {
                if (!context.Ranges.TryGetValue(child, out var range))
                {
                    context.Malformed = true;
                    continue;
                }

                part.Parts.Add(Build(context, child, range.Begin, FindBodyStart(context.Bytes, range.Begin, range.End), range.End, depth + 1));
            }

            if (part.Parts.Count == 0)
            {
                // RFC 9051 needs at least one part; an empty multipart is served as one empty text part.
                context.Malformed = true;
                part.Parts.Add(new BodyPart { HeaderOffset = bodyStart, BodyOffset = bodyStart });
            }

            return part;
        }

        if (entity is MessagePart { Message: { } inner } && depth < maxMimeDepth)
        {
            var part = Describe(entity, headerOffset, bodyStart, end, context);
            part.MessageEnvelope = BuildEnvelope(inner);
            part.MessageBody = BuildMessageBody(context, inner, bodyStart, end, depth + 1);
            return part;
        }

        if (entity is Multipart or MessagePart || entity.ContentType.MediaType.Equals("multipart", StringComparison.OrdinalIgnoreCase))
        {
            context.Malformed = true; // deeper than the limit (ours or the parser's): the rest is opaque
        }

        return Leaf(context, entity, headerOffset, bodyStart, end);
    }

    private static BodyPart Leaf(BuildContext context, MimeEntity? entity, long headerOffset, long bodyStart, long end) =>
        entity is null
            ? new BodyPart { Parameters = [["charset", "us-ascii"]], HeaderOffset = headerOffset, HeaderLength = bodyStart - headerOffset, BodyOffset = bodyStart, Octets = end - bodyStart, Lines = CountLines(context.Bytes, bodyStart, end) }
            : Describe(entity, headerOffset, bodyStart, end, context);

    private static BodyPart Describe(MimeEntity entity, long headerOffset, long bodyStart, long end, BuildContext context)
    {
        var type = entity.ContentType;
        var part = new BodyPart
        {
            Type = type.MediaType.ToLowerInvariant(),
            Subtype = type.MediaSubtype.ToLowerInvariant(),
            Parameters = type.Parameters.Select(p => new[] { p.Name.ToLowerInvariant(), p.Value }).ToList(),
            ContentId = RawHeader(entity.Headers, HeaderId.ContentId),
            Description = RawHeader(entity.Headers, HeaderId.ContentDescription),
            Encoding = RawHeader(entity.Headers, HeaderId.ContentTransferEncoding)?.ToLowerInvariant() ?? "7bit",
            Md5 = RawHeader(entity.Headers, HeaderId.ContentMd5),
            Location = RawHeader(entity.Headers, HeaderId.ContentLocation),
            HeaderOffset = headerOffset,
            HeaderLength = bodyStart - headerOffset,
            BodyOffset = bodyStart,
            Octets = Math.Max(0, end - bodyStart),
            Lines = CountLines(context.Bytes, bodyStart, end),
        };

        // RFC 2045 §5.2: text without a charset is us-ascii; say so, as Dovecot does.
        if (part.Type == "text" && !part.Parameters.Any(p => p[0] == "charset"))
        {
            part.Parameters.Add(["charset", "us-ascii"]);
        }

        if (entity.ContentDisposition is { } disposition)
        {
            part.Disposition = disposition.Disposition.ToLowerInvariant();
            part.DispositionParameters = disposition.Parameters.Select(p => new[] { p.Name.ToLowerInvariant(), p.Value }).ToList();
        }

        if (RawHeader(entity.Headers, HeaderId.ContentLanguage) is { } language)
        {
            part.Language = language.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        }

        return part;
    }

    private static Envelope BuildEnvelope(MimeMessage message)
    {
        var headers = message.Headers;
        var from = Addresses(headers, HeaderId.From);
        var sender = Addresses(headers, HeaderId.Sender);
        var replyTo = Addresses(headers, HeaderId.ReplyTo);
        return new Envelope
        {
            Date = RawHeader(headers, HeaderId.Date),
            Subject = RawHeader(headers, HeaderId.Subject),
            From = from,
            // RFC 9051 §7.5.2: absent or empty Sender and Reply-To take the value of From.
            Sender = sender is { Count: > 0 } ? sender : from,
            ReplyTo = replyTo is { Count: > 0 } ? replyTo : from,
            To = Addresses(headers, HeaderId.To),
            Cc = Addresses(headers, HeaderId.Cc),
            Bcc = Addresses(headers, HeaderId.Bcc),
            InReplyTo = RawHeader(headers, HeaderId.InReplyTo),
            MessageId = RawHeader(headers, HeaderId.MessageId),
        };
    }

    private static List<EnvelopeAddress>? Addresses(HeaderList headers, HeaderId id)
    {
        var header = headers.FirstOrDefault(h => h.Id == id);
        if (header is null)
        {
            return null;
        }

        if (!InternetAddressList.TryParse(ParserOptions.Default, header.RawValue, out var list))
        {
            return [];
        }

        var result = new List<EnvelopeAddress>();
        foreach (var address in list)
        {
            Add(result, address);
        }

        return result;

        static void Add(List<EnvelopeAddress> result, InternetAddress address)
        {
            switch (address)
            {
                case MailboxAddress mailbox:
                    var at = mailbox.Address.LastIndexOf('@');
                    var route = mailbox.Route.Count > 0 ? "@" + string.Join(",@", mailbox.Route) : null;
                    result.Add(new EnvelopeAddress(
                        string.IsNullOrEmpty(mailbox.Name) ? null : mailbox.Name,
                        route,
                        at > 0 ? mailbox.Address[..at] : mailbox.Address,
                        // A NIL host would read as the start of a group (RFC 9051 §7.5.2); Dovecot's placeholder instead.
                        at > 0 ? mailbox.Address[(at + 1)..] : EnvelopeAddress.MissingDomain));
                    break;
                case GroupAddress group:
                    result.Add(new EnvelopeAddress(null, null, group.Name, null));
                    foreach (var member in group.Members)
                    {
                        Add(result, member);
                    }

                    result.Add(new EnvelopeAddress(null, null, null, null));
                    break;
            }
        }
    }

    /// <summary>A header's value as sent: unfolded, outer white space trimmed, not decoded.</summary>
    private static string? RawHeader(HeaderList headers, HeaderId id)
    {
        var header = headers.FirstOrDefault(h => h.Id == id);
        if (header is null)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(header.RawValue);
        return Unfold().Replace(text, "").Trim();
    }

    [GeneratedRegex("\r?\n(?=[ \t])")]
    private static partial Regex Unfold();

    /// <summary>Where the body of the entity at [begin, end) starts: after the first empty line.</summary>
    public static long FindBodyStart(byte[] bytes, long begin, long end)
    {
        var i = (int)begin;
        var limit = (int)Math.Min(end, bytes.Length);
        // An entity that starts with an empty line has no header.
        if (i < limit && bytes[i] == '\n')
        {
            return i + 1;
        }

        if (i + 1 < limit && bytes[i] == '\r' && bytes[i + 1] == '\n')
        {
            return i + 2;
        }

        for (; i < limit; i++)
        {
            if (bytes[i] != '\n')
            {
                continue;
            }

            if (i + 1 < limit && bytes[i + 1] == '\n')
            {
                return i + 2;
            }

            if (i + 2 < limit && bytes[i + 1] == '\r' && bytes[i + 2] == '\n')
            {
                return i + 3;
            }
        }

        return limit;
    }

    /// <summary>
    /// Lines in [start, end): the number of line ends. A last line without one does not count, and
    /// the CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1), as Dovecot counts.
    /// </summary>
    internal static long CountLines(byte[] bytes, long start, long end)
    {
        var limit = (int)Math.Min(end, bytes.Length);
        return start >= limit ? 0 : bytes.AsSpan((int)start, limit - (int)start).Count((byte)'\n');
    }

    private static string Preview(MimeMessage message)
    {
        string? text = null;
        try
        {
            text = message.TextBody;
            if (text is null && message.HtmlBody is { } html)
            {
                text = System.Net.WebUtility.HtmlDecode(Tags().Replace(Scripts().Replace(html, " "), " "));
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An undecodable body gives no preview.
        }

        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        // The preview needs the first PreviewLength characters; look at growing prefixes first (a body may
        // be megabytes, and collapsing and counting text elements costs per character: a whole 2 KB
        // body was 2% of the server's CPU under imaptest's APPENDs), and at the whole text only if
        // whitespace collapsed every prefix to no more than the length.
        foreach (var prefix in (ReadOnlySpan<int>)[4 * PreviewLength, 16 * 1024])
        {
            if (text.Length > prefix && Preview(text[..prefix], whole: false) is { } early)
            {
                return early;
            }
        }

        return Preview(text, whole: true)!;

        // Null when a prefix collapsed to no more than PreviewLength (the rest of the text may still count).
        static string? Preview(string part, bool whole)
        {
            var collapsed = Whitespace().Replace(part, " ").Trim();
            var info = new System.Globalization.StringInfo(collapsed);
            if (info.LengthInTextElements > PreviewLength)
            {
                return info.SubstringByTextElements(0, PreviewLength);
            }

            return whole ? collapsed : null;
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tags();

    [GeneratedRegex(@"<(script|style)[^>]*>.*?</\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Scripts();

    /// <summary>RFC 5256 §2.1: the base subject used by SORT SUBJECT and THREAD.</summary>
    public static string BaseSubject(string subject)
    {
        // (1) decoded already; white space runs become one space.
        var s = Whitespace().Replace(subject, " ").Trim();
        while (true)
        {
            // (2) remove trailing "(fwd)" and white space.
            string before2;
            do
            {
                before2 = s;
                if (s.EndsWith("(fwd)", StringComparison.OrdinalIgnoreCase))
                {
                    s = s[..^5].TrimEnd();
                }
            }
            while (s != before2);

            // (3)-(4) remove leading blobs and "re:"/"fw:"/"fwd:" leaders, repeatedly.
            string before3;
            do
            {
                before3 = s;
                var leader = Leader().Match(s);
                if (leader.Success)
                {
                    s = s[leader.Length..].TrimStart();
                }

                var blob = LeadingBlob().Match(s);
                if (blob.Success && s.Length > blob.Length)
                {
                    s = s[blob.Length..].TrimStart();
                }
            }
            while (s != before3);

            // (5) "[fwd: ... ]" wrapper: strip and start again.
            if (s.StartsWith("[fwd:", StringComparison.OrdinalIgnoreCase) && s.EndsWith(']'))
            {
                s = s[5..^1].Trim();
                continue;
            }

            return s;
        }
    }

    [GeneratedRegex(@"^(\[[^\[\]]*\]\s*)*(re|fwd?)\s*(\[[^\[\]]*\]\s*)?:", RegexOptions.IgnoreCase)]
    private static partial Regex Leader();

    [GeneratedRegex(@"^\[[^\[\]]*\]\s*")]
    private static partial Regex LeadingBlob();

    /// <summary>When nothing parses: the whole message as one text/plain part after the first empty line.</summary>
    private static MessageMetadata Fallback(ReadOnlyMemory<byte> raw)
    {
        var bytes = raw.ToArray();
        var bodyStart = FindBodyStart(bytes, 0, bytes.Length);
        return new MessageMetadata
        {
            Malformed = true,
            Body = new BodyPart
            {
                Parameters = [["charset", "us-ascii"]],
                HeaderLength = bodyStart,
                BodyOffset = bodyStart,
                Octets = bytes.Length - bodyStart,
                Lines = CountLines(bytes, bodyStart, bytes.Length),
            },
        };
    }
}
