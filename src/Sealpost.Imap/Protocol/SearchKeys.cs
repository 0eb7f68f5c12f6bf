namespace Sealpost.Imap.Protocol;

/// <summary>A parsed SEARCH criterion (RFC 9051 §6.4.4 search-key, RFC 3501 additions, RFC 7162 MODSEQ).</summary>
public abstract record SearchKey
{
    public sealed record All : SearchKey;
    public sealed record Flag(Core.Mail.MessageFlags Value, bool Set) : SearchKey;
    public sealed record Keyword(string Name, bool Set) : SearchKey;
    /// <summary>\Recent (rev1): NEW is RECENT UNSEEN, OLD is NOT RECENT.</summary>
    public sealed record Recent(bool Set) : SearchKey;
    public sealed record Not(SearchKey Key) : SearchKey;
    public sealed record Or(SearchKey Left, SearchKey Right) : SearchKey;
    public sealed record And(IReadOnlyList<SearchKey> Keys) : SearchKey;
    public sealed record Sequence(SequenceSet Set) : SearchKey;
    public sealed record Uid(SequenceSet Set) : SearchKey;
    public sealed record Size(bool Larger, long Octets) : SearchKey;
    /// <summary>INTERNALDATE (Sent = false) or the Date header (Sent = true) compared by date (RFC 9051: time and zone disregarded).</summary>
    public sealed record Date(DateOnly Value, DateComparison Comparison, bool Sent) : SearchKey;
    /// <summary>RFC 5032 OLDER/YOUNGER: INTERNALDATE compared with now, in seconds.</summary>
    public sealed record Within(long Seconds, bool Older) : SearchKey;
    /// <summary>A header field (lower-case name) containing the text; an empty text matches the field's presence.</summary>
    public sealed record Header(string Field, string Text) : SearchKey;
    public sealed record Body(string Text, bool WithHeaders) : SearchKey;
    public sealed record ModSeq(long Value) : SearchKey;
    public sealed record Saved : SearchKey;
    /// <summary>RFC 8474 §4.4 EMAILID / THREADID.</summary>
    public sealed record ObjectId(string Value, bool Thread) : SearchKey;
}

public enum DateComparison { Before, On, Since }

/// <summary>SEARCH RETURN options (RFC 4731 ESEARCH, RFC 5182 SAVE).</summary>
[Flags]
public enum SearchReturn { None = 0, Min = 1, Max = 2, All = 4, Count = 8, Save = 16 }

public sealed record SearchRequest(SearchKey Key, SearchReturn Return, bool Extended, string? Charset, (int First, int Last)? Partial = null);

/// <summary>Parses SEARCH arguments (pure).</summary>
public static class SearchParser
{
    public static SearchRequest Parse(ImapParser p)
    {
        var ret = SearchReturn.None;
        var extended = false;
        string? charset = null;
        p.Space();
        (int First, int Last)? partial = null;
        if (p.TryKeyword("RETURN"))
        {
            extended = true;
            p.Space();
            (ret, partial) = ParseReturn(p);
            p.Space();
        }

        if (p.TryKeyword("CHARSET"))
        {
            p.Space();
            charset = p.ReadAString().ToUpperInvariant();
            p.Space();
        }

        return new SearchRequest(ParseCriteria(p), ret, extended, charset, partial);
    }

    /// <summary>The search keys that end a SEARCH, SORT or THREAD command (the caller has read the space before them).</summary>
    public static SearchKey ParseCriteria(ImapParser p)
    {
        var keys = new List<SearchKey> { ParseKey(p, 0) };
        while (p.TrySpace())
        {
            keys.Add(ParseKey(p, 0));
        }

        p.End();
        return keys.Count == 1 ? keys[0] : new SearchKey.And(keys);
    }

    /// <summary>RFC 4731/5267 RETURN options, after the word RETURN and its space; PARTIAL is RFC 5267 §4.4.</summary>
    public static (SearchReturn Return, (int First, int Last)? Partial) ParseReturn(ImapParser p)
    {
        var ret = SearchReturn.None;
        (int, int)? partial = null;
        p.ReadOptionList(word =>
        {
            if (word == "PARTIAL")
            {
                p.Space();
                var range = p.ReadAtom();
                var parts = range.Split(':');
                if (parts.Length != 2 || !int.TryParse(parts[0], out var a) || !int.TryParse(parts[1], out var b) || a < 1 || b < 1)
                {
                    throw new ImapParseException("PARTIAL needs a range like 1:100");
                }

                partial = (Math.Min(a, b), Math.Max(a, b));
                return;
            }

            ret |= word switch
            {
                "MIN" => SearchReturn.Min,
                "MAX" => SearchReturn.Max,
                "ALL" => SearchReturn.All,
                "COUNT" => SearchReturn.Count,
                "SAVE" => SearchReturn.Save,
                _ => throw new ImapParseException("Unknown return option"),
            };
        });

        if (ret == SearchReturn.None && partial is null)
        {
            ret = SearchReturn.All; // RFC 4731 §3.1: RETURN () means RETURN (ALL)
        }

        return (ret, partial);
    }

    private const int MaxDepth = 64;

    private static SearchKey ParseKey(ImapParser p, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ImapParseException("Search criteria nested too deeply");
        }

        if (p.TryTake('('))
        {
            var keys = new List<SearchKey> { ParseKey(p, depth + 1) };
            while (p.TrySpace())
            {
                keys.Add(ParseKey(p, depth + 1));
            }

            p.Expect(')');
            return keys.Count == 1 ? keys[0] : new SearchKey.And(keys);
        }

        if (p.Peek is (byte)'*' or (byte)'$' or (>= (byte)'0' and <= (byte)'9'))
        {
            var set = p.ReadSequenceSet();
            return set.IsSaved ? new SearchKey.Saved() : new SearchKey.Sequence(set);
        }

        var word = p.ReadAtom().ToUpperInvariant();
        switch (word)
        {
            case "ALL": return new SearchKey.All();
            case "ANSWERED": return new SearchKey.Flag(Core.Mail.MessageFlags.Answered, true);
            case "UNANSWERED": return new SearchKey.Flag(Core.Mail.MessageFlags.Answered, false);
            case "DELETED": return new SearchKey.Flag(Core.Mail.MessageFlags.Deleted, true);
            case "UNDELETED": return new SearchKey.Flag(Core.Mail.MessageFlags.Deleted, false);
            case "DRAFT": return new SearchKey.Flag(Core.Mail.MessageFlags.Draft, true);
            case "UNDRAFT": return new SearchKey.Flag(Core.Mail.MessageFlags.Draft, false);
            case "FLAGGED": return new SearchKey.Flag(Core.Mail.MessageFlags.Flagged, true);
            case "UNFLAGGED": return new SearchKey.Flag(Core.Mail.MessageFlags.Flagged, false);
            case "SEEN": return new SearchKey.Flag(Core.Mail.MessageFlags.Seen, true);
            case "UNSEEN": return new SearchKey.Flag(Core.Mail.MessageFlags.Seen, false);
            case "RECENT": return new SearchKey.Recent(true);
            case "OLD": return new SearchKey.Recent(false);
            case "NEW": return new SearchKey.And([new SearchKey.Recent(true), new SearchKey.Flag(Core.Mail.MessageFlags.Seen, false)]);
            case "KEYWORD": p.Space(); return new SearchKey.Keyword(p.ReadFlag(), true);
            case "UNKEYWORD": p.Space(); return new SearchKey.Keyword(p.ReadFlag(), false);
            case "NOT": p.Space(); return new SearchKey.Not(ParseKey(p, depth + 1));
            case "OR":
            {
                p.Space();
                var left = ParseKey(p, depth + 1);
                p.Space();
                return new SearchKey.Or(left, ParseKey(p, depth + 1));
            }

            case "UID": p.Space(); return new SearchKey.Uid(p.ReadSequenceSet());
            case "LARGER": p.Space(); return new SearchKey.Size(true, (long)p.ReadNumber64());
            case "SMALLER": p.Space(); return new SearchKey.Size(false, (long)p.ReadNumber64());
            case "BEFORE": p.Space(); return new SearchKey.Date(p.ReadDate(), DateComparison.Before, false);
            case "ON": p.Space(); return new SearchKey.Date(p.ReadDate(), DateComparison.On, false);
            case "SINCE": p.Space(); return new SearchKey.Date(p.ReadDate(), DateComparison.Since, false);
            case "SENTBEFORE": p.Space(); return new SearchKey.Date(p.ReadDate(), DateComparison.Before, true);
            case "SENTON": p.Space(); return new SearchKey.Date(p.ReadDate(), DateComparison.On, true);
            case "SENTSINCE": p.Space(); return new SearchKey.Date(p.ReadDate(), DateComparison.Since, true);
            case "OLDER": p.Space(); return new SearchKey.Within(p.ReadNzNumber(), true);
            case "YOUNGER": p.Space(); return new SearchKey.Within(p.ReadNzNumber(), false);
            case "FROM" or "TO" or "CC" or "BCC" or "SUBJECT":
                p.Space();
                return new SearchKey.Header(word.ToLowerInvariant(), p.ReadAString());
            case "HEADER":
            {
                p.Space();
                var field = p.ReadAString(utf8: false).ToLowerInvariant();
                p.Space();
                return new SearchKey.Header(field, p.ReadAString());
            }

            case "BODY": p.Space(); return new SearchKey.Body(p.ReadAString(), false);
            case "TEXT": p.Space(); return new SearchKey.Body(p.ReadAString(), true);
            case "EMAILID": p.Space(); return new SearchKey.ObjectId(p.ReadAtom(), false);
            case "THREADID": p.Space(); return new SearchKey.ObjectId(p.ReadAtom(), true);
            case "MODSEQ":
            {
                p.Space();
                if (p.PeekIs('"'))
                {
                    // RFC 7162 §3.1.5: optional entry name and type, which we do not distinguish.
                    p.ReadString();
                    p.Space();
                    p.ReadAtom();
                    p.Space();
                }

                return new SearchKey.ModSeq((long)p.ReadNumber64());
            }

            default:
                throw new ImapParseException("Unknown search key " + word);
        }
    }
}
