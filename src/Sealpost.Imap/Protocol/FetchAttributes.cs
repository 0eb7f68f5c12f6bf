namespace Sealpost.Imap.Protocol;

public enum FetchKind
{
    Uid,
    Flags,
    InternalDate,
    Rfc822Size,
    Envelope,
    BodyStructure,
    /// <summary>BODY without a section: BODYSTRUCTURE without extension data.</summary>
    Body,
    /// <summary>BODY[...] and BODY.PEEK[...].</summary>
    Section,
    /// <summary>BINARY[...] and BINARY.PEEK[...] (RFC 3516).</summary>
    Binary,
    BinarySize,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    ModSeq,
    Preview,
    EmailId,
    ThreadId,
}

/// <summary>What part of a message a section names (RFC 9051 §6.4.5 section-spec).</summary>
public enum SectionText { Whole, Header, HeaderFields, HeaderFieldsNot, Text, Mime }

/// <summary>One requested FETCH data item.</summary>
public sealed record FetchItem(
    FetchKind Kind,
    bool Peek = false,
    int[]? Part = null,
    SectionText Text = SectionText.Whole,
    IReadOnlyList<string>? Fields = null,
    long? PartialStart = null,
    long? PartialCount = null)
{
    /// <summary>Does fetching this item set \Seen (RFC 9051 §6.4.5)?</summary>
    public bool SetsSeen => !Peek && Kind is FetchKind.Section or FetchKind.Binary or FetchKind.Rfc822 or FetchKind.Rfc822Text;

    /// <summary>The section as the response names it: <c>1.2.HEADER.FIELDS (From To)</c>.</summary>
    public string SectionName
    {
        get
        {
            var parts = new List<string>();
            if (Part is { Length: > 0 })
            {
                parts.Add(string.Join('.', Part));
            }

            switch (Text)
            {
                case SectionText.Header: parts.Add("HEADER"); break;
                case SectionText.HeaderFields: parts.Add("HEADER.FIELDS (" + string.Join(' ', Fields!.Select(f => ImapText.AString(f, false))) + ")"); break;
                case SectionText.HeaderFieldsNot: parts.Add("HEADER.FIELDS.NOT (" + string.Join(' ', Fields!.Select(f => ImapText.AString(f, false))) + ")"); break;
                case SectionText.Text: parts.Add("TEXT"); break;
                case SectionText.Mime: parts.Add("MIME"); break;
            }

            return string.Join('.', parts);
        }
    }
}

/// <summary>FETCH data items (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8970 PREVIEW, RFC 8474 ids).</summary>
public static class FetchAttributes
{
    public static List<FetchItem> Parse(ImapParser p)
    {
        var items = new List<FetchItem>();
        if (p.TryTake('('))
        {
            do
            {
                items.AddRange(ParseOne(p, allowMacro: false));
            }
            while (p.TrySpace());
            p.Expect(')');
        }
        else
        {
            items.AddRange(ParseOne(p, allowMacro: true));
        }

        return items;
    }

    private static IEnumerable<FetchItem> ParseOne(ImapParser p, bool allowMacro)
    {
        var name = ReadName(p);
        switch (name)
        {
            case "ALL" when allowMacro:
                return [new(FetchKind.Flags), new(FetchKind.InternalDate), new(FetchKind.Rfc822Size), new(FetchKind.Envelope)];
            case "FAST" when allowMacro:
                return [new(FetchKind.Flags), new(FetchKind.InternalDate), new(FetchKind.Rfc822Size)];
            case "FULL" when allowMacro:
                return [new(FetchKind.Flags), new(FetchKind.InternalDate), new(FetchKind.Rfc822Size), new(FetchKind.Envelope), new(FetchKind.Body)];
            case "UID": return [new(FetchKind.Uid)];
            case "FLAGS": return [new(FetchKind.Flags)];
            case "INTERNALDATE": return [new(FetchKind.InternalDate)];
            case "RFC822.SIZE": return [new(FetchKind.Rfc822Size)];
            case "ENVELOPE": return [new(FetchKind.Envelope)];
            case "BODYSTRUCTURE": return [new(FetchKind.BodyStructure)];
            case "RFC822": return [new(FetchKind.Rfc822)];
            case "RFC822.HEADER": return [new(FetchKind.Rfc822Header)];
            case "RFC822.TEXT": return [new(FetchKind.Rfc822Text)];
            case "MODSEQ": return [new(FetchKind.ModSeq)];
            case "EMAILID": return [new(FetchKind.EmailId)];
            case "THREADID": return [new(FetchKind.ThreadId)];
            case "PREVIEW":
                if (p.TrySpace())
                {
                    // RFC 8970 §3: (LAZY) is accepted; the preview is always at hand in the sealed metadata.
                    p.Expect('(');
                    p.ReadAtom();
                    p.Expect(')');
                }

                return [new(FetchKind.Preview)];
            case "BODY" when !p.PeekIs('['):
                return [new(FetchKind.Body)];
            case "BODY" or "BODY.PEEK":
                return [Section(p, FetchKind.Section, name == "BODY.PEEK")];
            case "BINARY" or "BINARY.PEEK" or "BINARY.SIZE":
            {
                var item = Section(p, name == "BINARY.SIZE" ? FetchKind.BinarySize : FetchKind.Binary, name == "BINARY.PEEK");
                if (item.Text != SectionText.Whole)
                {
                    throw new ImapParseException("BINARY takes part numbers only");
                }

                if (item.Kind == FetchKind.BinarySize && item.PartialStart is not null)
                {
                    throw new ImapParseException("BINARY.SIZE takes no partial range");
                }

                return [item];
            }

            default:
                throw new ImapParseException("Unknown FETCH item " + name);
        }
    }

    private static string ReadName(ImapParser p)
    {
        // Data item names are atoms up to '[' (BODY[, BINARY[ ...).
        var sb = new System.Text.StringBuilder();
        while (!p.AtEnd && ImapParser.IsAtomChar(p.Peek, allowBracket: false) && p.Peek != '[')
        {
            sb.Append((char)p.Peek);
            p.Expect((char)p.Peek);
        }

        if (sb.Length == 0)
        {
            throw new ImapParseException("Expected a FETCH item");
        }

        return sb.ToString().ToUpperInvariant();
    }

    private static FetchItem Section(ImapParser p, FetchKind kind, bool peek)
    {
        p.Expect('[');
        var part = new List<int>();
        var text = SectionText.Whole;
        List<string>? fields = null;
        while (!p.TryTake(']'))
        {
            if (p.Peek is >= (byte)'0' and <= (byte)'9')
            {
                if (text != SectionText.Whole)
                {
                    throw new ImapParseException("Part number after section text");
                }

                var n = p.ReadNzNumber();
                if (n > 100_000 || part.Count >= 100)
                {
                    throw new ImapParseException("Part number out of range");
                }

                part.Add((int)n);
                if (!p.TryTake('.'))
                {
                    p.Expect(']');
                    break;
                }

                continue;
            }

            var word = ReadName(p);
            switch (word)
            {
                case "HEADER": text = SectionText.Header; break;
                case "TEXT": text = SectionText.Text; break;
                case "MIME" when part.Count > 0: text = SectionText.Mime; break;
                case "HEADER.FIELDS" or "HEADER.FIELDS.NOT":
                    text = word == "HEADER.FIELDS" ? SectionText.HeaderFields : SectionText.HeaderFieldsNot;
                    p.Space();
                    p.Expect('(');
                    fields = [];
                    do
                    {
                        fields.Add(p.ReadAString(utf8: false));
                    }
                    while (p.TrySpace());
                    p.Expect(')');
                    break;
                default:
                    throw new ImapParseException("Bad section " + word);
            }

            p.Expect(']');
            break;
        }

        long? start = null;
        long? count = null;
        if (p.TryTake('<'))
        {
            start = (long)p.ReadNumber64();
            p.Expect('.');
            count = (long)p.ReadNumber64();
            if (count == 0)
            {
                throw new ImapParseException("Partial count must not be zero");
            }

            p.Expect('>');
        }

        return new FetchItem(kind, peek, part.Count > 0 ? part.ToArray() : null, text, fields, start, count);
    }
}
