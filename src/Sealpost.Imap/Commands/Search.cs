using System.Globalization;
using System.Text;
using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;
using Sealpost.Mime;

namespace Sealpost.Imap;

// SEARCH and UID SEARCH (RFC 9051 §6.4.4; RFC 3501 untagged SEARCH for rev1 clients) with ESEARCH
// (RFC 4731) and SEARCHRES (RFC 5182). Flags, sizes and dates come from the rows; header keys from the
// sealed metadata; BODY and TEXT decrypt each candidate message (docs/imap.md says what that costs).
// Text comparison approximates RFC 5051 i;unicode-casemap (NFKD, full upper case incl. ß → SS).
public sealed partial class ImapSession
{
    private async Task<After> SearchAsync(string tag, SearchRequest request, bool uid, CancellationToken ct)
    {
        RequireCharset(request.Charset);

        var view = _selected!;
        await ReportChangesAsync(allowExpunge: uid, force: false, ct);
        var (matched, _, highestModSeq) = await EvaluateAsync(request.Key, ct);
        var matches = matched.Select(r => r.Uid).ToList();
        var withModSeq = Needs(request.Key, k => k is SearchKey.ModSeq);
        if (withModSeq)
        {
            EnableCondStore(); // RFC 7162 §3.1.5
        }

        // RFC 7162 §3.1.5: the highest MODSEQ of the matches, when the search used MODSEQ and matched something.
        // With only MIN and/or MAX asked for, it is the MODSEQ of those messages (RFC 7162 §3.1.5 on RFC 4731).
        var onlyEnds = request.Extended && request.Partial is null && (request.Return & (SearchReturn.All | SearchReturn.Count)) == 0
            && (request.Return & (SearchReturn.Min | SearchReturn.Max)) != 0;
        if (onlyEnds && matched.Count > 0)
        {
            highestModSeq = Math.Max(request.Return.HasFlag(SearchReturn.Min) ? matched[0].ModSeq : 0, request.Return.HasFlag(SearchReturn.Max) ? matched[^1].ModSeq : 0);
        }

        ulong? modseqSuffix = withModSeq && matches.Count > 0 ? (ulong)highestModSeq : null;
        if (request.Return.HasFlag(SearchReturn.Save))
        {
            _savedResult = matches;
        }

        var numbers = uid ? matches : matches.Select(view.SequenceOf).Where(s => s != 0).ToList();
        if (request.Extended || _rev2)
        {
            var ret = request.Extended ? request.Return : SearchReturn.All;
            if (ret != SearchReturn.Save || request.Partial is not null)
            {
                Send(EsearchLine(tag, uid, numbers, ret, request.Partial, modseqSuffix));
            }
        }
        else
        {
            Send(new SearchResponse(numbers, modseqSuffix));
        }

        Ok(tag, "SEARCH completed");
        return After.Next;
    }

    /// <summary>SEARCH, SORT and THREAD take UTF-8 (and its subset US-ASCII); anything else is BADCHARSET (RFC 9051 §7.1).</summary>
    private static void RequireCharset(string? charset)
    {
        if (charset is not (null or "UTF-8" or "US-ASCII"))
        {
            throw No("Supported charsets: UTF-8, US-ASCII", ResponseCode.BadCharset("UTF-8", "US-ASCII"));
        }
    }

    /// <summary>
    /// An ESEARCH response (RFC 4731; RFC 5267 for ESORT and PARTIAL). <paramref name="numbers"/> are in
    /// result order (ascending for SEARCH, sort order for SORT); MIN and MAX are the first and last.
    /// </summary>
    private static ESearchResponse EsearchLine(string tag, bool uid, IReadOnlyList<uint> numbers, SearchReturn ret, (int First, int Last)? partial, ulong? modseq)
    {
        var results = new List<(string, ImapValue)>();
        if (numbers.Count > 0)
        {
            if (ret.HasFlag(SearchReturn.Min))
            {
                results.Add(("MIN", ImapValue.Number(numbers[0])));
            }

            if (ret.HasFlag(SearchReturn.Max))
            {
                results.Add(("MAX", ImapValue.Number(numbers[^1])));
            }

            if (ret.HasFlag(SearchReturn.All))
            {
                results.Add(("ALL", ImapValue.Atom(SequenceSet.Format(numbers))));
            }
        }

        if (ret.HasFlag(SearchReturn.Count))
        {
            results.Add(("COUNT", ImapValue.Number((ulong)numbers.Count)));
        }

        if (partial is { } range)
        {
            var window = numbers.Skip(range.First - 1).Take(range.Last - range.First + 1).ToList();
            results.Add(("PARTIAL", ImapValue.List(
                ImapValue.Atom(string.Create(CultureInfo.InvariantCulture, $"{range.First}:{range.Last}")),
                window.Count == 0 ? ImapValue.Nil : ImapValue.Atom(SequenceSet.Format(window)))));
        }

        if (modseq is { } highest)
        {
            results.Add(("MODSEQ", ImapValue.Number(highest)));
        }

        return new ESearchResponse(tag, uid, results);
    }

    /// <summary>The UIDs (ascending) of the messages in the view that match.</summary>
    /// <summary>The messages (rows, and metadata when it was read) in the view that match, in UID order, and the highest MODSEQ among them.</summary>
    private async Task<(List<MessageRecord> Records, List<MetadataView?>? Metadata, long HighestModSeq)> EvaluateAsync(SearchKey key, CancellationToken ct, bool wantMetadata = false)
    {
        var view = _selected!;
        if (view.Count == 0)
        {
            return ([], wantMetadata ? [] : null, 0);
        }

        using var large = view.Count >= LargeMailbox ? SelMail.LargeRead() : null;
        var records = view.Count >= LargeMailbox ? await ListInSlicesAsync(view, ct) : await SelMail.ListMessagesAsync(view.MailboxId, new UidRange(view.Uids[0], view.MaxUid), ct);
        MetadataView?[]? metadata = null;
        if (wantMetadata || Needs(key, k => k is SearchKey.Header or SearchKey.Date { Sent: true } or SearchKey.ObjectId { Thread: true }))
        {
            metadata = await SelMail.MetadataForAsync(view.MailboxId, records, ct);
        }

        var keywordIds = new Dictionary<string, int?>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in Collect<SearchKey.Keyword>(key).Select(k => k.Name))
        {
            keywordIds[name] = SelKeywords.Find(name);
        }

        var saved = Needs(key, k => k is SearchKey.Saved) ? (_savedResult ?? []).ToHashSet() : null;
        var matched = new bool[records.Count];
        if (key is SearchKey.All)
        {
            Array.Fill(matched, true);
        }
        else
        {
            // Keys that read no message content are pure CPU over rows and metadata: a large mailbox is
            // matched on every core. Content keys (BODY, TEXT, unrecorded header fields) read blobs one by one.
            var parts = records.Count >= LargeMailbox && !Needs(key, k => k is SearchKey.Body || (k is SearchKey.Header h && !SearchHeaderFields.Contains(h.Field)))
                ? Environment.ProcessorCount : 1;
            async Task MatchPartAsync(int part)
            {
                for (var i = records.Count * part / parts; i < records.Count * (part + 1) / parts; i++)
                {
                    var sequence = view.SequenceOf(records[i].Uid);
                    matched[i] = sequence != 0 && await MatchesAsync(key, new MatchContext(records[i], sequence, metadata?[i], keywordIds, saved), ct);
                }
            }

            await (parts == 1 ? MatchPartAsync(0) : Task.WhenAll(Enumerable.Range(0, parts).Select(part => Task.Run(() => MatchPartAsync(part), ct))));
        }

        var result = new List<MessageRecord>();
        var resultMetadata = wantMetadata ? new List<MetadataView?>() : null;
        long highest = 0;
        for (var i = 0; i < records.Count; i++)
        {
            if (matched[i] && view.SequenceOf(records[i].Uid) != 0)
            {
                result.Add(records[i]);
                resultMetadata?.Add(metadata![i]);
                highest = Math.Max(highest, records[i].ModSeq);
            }
        }

        return (result, resultMetadata, highest);
    }

    /// <summary>From this many messages a search marks a large read (background work waits), lists and matches on every core.</summary>
    private const int LargeMailbox = 2000;

    /// <summary>The view's rows, one UID slice per core, each slice listed by its own store read: in UID order.</summary>
    private async Task<IReadOnlyList<MessageRecord>> ListInSlicesAsync(SelectedMailbox view, CancellationToken ct)
    {
        var (parts, count) = (Environment.ProcessorCount, view.Uids.Count);
        var slices = await Task.WhenAll(Enumerable.Range(0, parts).Select(part => Task.Run(() =>
        {
            var first = view.Uids[count * part / parts];
            var last = part == parts - 1 ? view.MaxUid : view.Uids[count * (part + 1) / parts] - 1;
            return SelMail.ListMessagesAsync(view.MailboxId, new UidRange(first, last), ct);
        }, ct)));
        return parts == 1 ? slices[0] : [.. slices.SelectMany(slice => slice)];
    }

    private sealed class MatchContext(MessageRecord record, uint sequence, MetadataView? metadata, Dictionary<string, int?> keywordIds, HashSet<uint>? saved)
    {
        public MessageRecord Record { get; } = record;
        public uint Sequence { get; } = sequence;
        public MetadataView? Metadata { get; } = metadata;
        public Dictionary<string, int?> KeywordIds { get; } = keywordIds;
        public HashSet<uint>? Saved { get; } = saved;
        public string? Text { get; set; }
        public string? BodyText { get; set; }
        public string? HeaderText { get; set; }
    }

    private async ValueTask<bool> MatchesAsync(SearchKey key, MatchContext m, CancellationToken ct)
    {
        var view = _selected!;
        var r = m.Record;
        switch (key)
        {
            case SearchKey.All:
                return true;
            case SearchKey.Flag f:
                return r.Flags.HasFlag(f.Value) == f.Set;
            case SearchKey.Keyword k:
                return (m.KeywordIds[k.Name] is { } id && r.KeywordIds.Contains(id)) == k.Set;
            case SearchKey.Recent rc:
                return IsRecentForSearch(r.Uid) == rc.Set;
            case SearchKey.Not n:
                return !await MatchesAsync(n.Key, m, ct);
            case SearchKey.Or o:
                return await MatchesAsync(o.Left, m, ct) || await MatchesAsync(o.Right, m, ct);
            case SearchKey.And a:
                foreach (var k in a.Keys)
                {
                    if (!await MatchesAsync(k, m, ct))
                    {
                        return false;
                    }
                }

                return true;
            case SearchKey.Sequence s:
                return s.Set.Contains(m.Sequence, view.Count);
            case SearchKey.Uid u:
                return u.Set.IsSaved ? m.Saved?.Contains(r.Uid) == true || (_savedResult?.Contains(r.Uid) ?? false) : u.Set.Contains(r.Uid, view.MaxUid);
            case SearchKey.Saved:
                return m.Saved?.Contains(r.Uid) == true;
            case SearchKey.Size s:
                return s.Larger ? r.Size > s.Octets : r.Size < s.Octets;
            case SearchKey.ModSeq ms:
                return r.ModSeq >= ms.Value;
            case SearchKey.Within w:
            {
                var age = DateTimeOffset.UtcNow - r.InternalDate;
                return w.Older ? age.TotalSeconds >= w.Seconds : age.TotalSeconds <= w.Seconds;
            }

            case SearchKey.Date d:
            {
                DateOnly date;
                if (d.Sent)
                {
                    // RFC 9051: the Date header's date, its own zone; a message without one does not match.
                    if (m.Metadata?.EnvelopeDate is not { } text || !MimeKit.Utils.DateUtils.TryParse(text, out var sent))
                    {
                        return false;
                    }

                    date = DateOnly.FromDateTime(sent.DateTime);
                }
                else
                {
                    date = DateOnly.FromDateTime(r.InternalDate.DateTime);
                }

                return d.Comparison switch
                {
                    DateComparison.Before => date < d.Value,
                    DateComparison.On => date == d.Value,
                    _ => date >= d.Value,
                };
            }

            case SearchKey.Header h:
                return await HeaderMatchesAsync(h, m, ct);
            case SearchKey.ObjectId { Thread: false } e:
                return string.Equals(EmailId(r), e.Value, StringComparison.Ordinal);
            case SearchKey.ObjectId t:
                return m.Metadata?.Parsed is { } parsed && string.Equals(ThreadId(parsed, r), t.Value, StringComparison.Ordinal);
            case SearchKey.Body b:
                return await BodyMatchesAsync(b, m, ct);
            default:
                return false;
        }
    }

    private bool IsRecentForSearch(uint uid) => _selected?.Recent?.Contains(uid) == true;

    private async ValueTask<bool> HeaderMatchesAsync(SearchKey.Header h, MatchContext m, CancellationToken ct)
    {
        if (m.Metadata is null)
        {
            return false;
        }

        string? value;
        if (!m.Metadata.TryGetSearchHeader(h.Field, out value))
        {
            if (SearchHeaderFields.Contains(h.Field))
            {
                return false; // the analyser records these whenever present
            }

            // Any other field: read the header itself (decrypting its chunk).
            m.HeaderText ??= await HeaderTextAsync(m.Record, ct);
            value = FieldValues(m.HeaderText, h.Field);
            if (value is null)
            {
                return false;
            }
        }

        if (h.Text.Length == 0 || Contains(value, h.Text))
        {
            return true;
        }

        // An address field also matches the addresses as parsed (as ENVELOPE reads them), so a search for
        // user@domain.org finds "<user (comment)@ (comment) domain.org>" too.
        var parsed = m.Metadata.Addresses(h.Field);
        return parsed is not null && parsed.Any(a => a.Mailbox is not null && Contains(a.Host is null or Sealpost.Mime.EnvelopeAddress.MissingDomain ? a.Mailbox : a.Mailbox + "@" + a.Host, h.Text));
    }

    private static readonly HashSet<string> SearchHeaderFields =
        ["from", "to", "cc", "bcc", "subject", "reply-to", "sender", "message-id", "in-reply-to", "references", "list-id", "date"];

    private async Task<string> HeaderTextAsync(MessageRecord record, CancellationToken ct)
    {
        using var opened = await SelMail.OpenAsync(record, ct);
        var meta = await opened.ReadMetadataAsync(ct);
        var bytes = await ReadAsync(opened, meta.Body.HeaderOffset, meta.Body.HeaderLength, ct);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Unfolded, decoded values of a field in a raw header block, joined by newlines; null if absent.</summary>
    private static string? FieldValues(string header, string field)
    {
        var values = new List<string>();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(header + "\r\n"));
        try
        {
            foreach (var h in MimeKit.HeaderList.Load(stream))
            {
                if (h.Field.Equals(field, StringComparison.OrdinalIgnoreCase))
                {
                    values.Add(h.Value);
                }
            }
        }
        catch (FormatException)
        {
            return null;
        }

        return values.Count == 0 ? null : string.Join('\n', values);
    }

    private async ValueTask<bool> BodyMatchesAsync(SearchKey.Body b, MatchContext m, CancellationToken ct)
    {
        if (m.BodyText is null)
        {
            using var opened = await SelMail.OpenAsync(m.Record, ct);
            var raw = await opened.ReadAllAsync(ct);
            (m.HeaderText, m.BodyText) = MessageText(raw);
        }

        return Contains(m.BodyText, b.Text) || (b.WithHeaders && Contains(m.HeaderText ?? "", b.Text));
    }

    /// <summary>Decoded header text and the decoded text of every text part (RFC 9051: BODY searches the body, TEXT header and body).</summary>
    private static (string Header, string Body) MessageText(byte[] raw)
    {
        using var stream = new MemoryStream(raw, writable: false);
        MimeKit.MimeMessage message;
        try
        {
            message = MimeKit.MimeMessage.Load(stream);
        }
        catch (FormatException)
        {
            return ("", Encoding.UTF8.GetString(raw));
        }

        var header = string.Join('\n', message.Headers.Select(h => h.Field + ": " + h.Value));
        var body = new StringBuilder();
        foreach (var part in message.BodyParts.OfType<MimeKit.TextPart>())
        {
            body.Append(part.Text).Append('\n');
        }

        return (header, body.ToString());
    }

    private static bool Contains(string haystack, string needle)
    {
        // Plain ASCII on both sides (most header searches): ordinal case-insensitive is the same answer, without allocating.
        if (System.Text.Ascii.IsValid(haystack) && System.Text.Ascii.IsValid(needle))
        {
            return haystack.Contains(needle, StringComparison.OrdinalIgnoreCase);
        }

        return Casemap(haystack).Contains(Casemap(needle), StringComparison.Ordinal);
    }

    /// <summary>
    /// An approximation of RFC 5051 i;unicode-casemap: compatibility decomposition (NFKD), then
    /// upper case with the full mapping of ß to SS, so "Straße", "STRASSE" and "straße" compare equal.
    /// </summary>
    internal static string Casemap(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormKD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (c is '\u00DF' or '\u1E9E')
            {
                sb.Append("SS");
            }
            else
            {
                sb.Append(char.ToUpperInvariant(c));
            }
        }

        return sb.ToString();
    }

    private static bool Needs(SearchKey key, Func<SearchKey, bool> predicate) => Collect<SearchKey>(key).Any(predicate);

    private static IEnumerable<T> Collect<T>(SearchKey key) where T : SearchKey
    {
        var stack = new Stack<SearchKey>();
        stack.Push(key);
        while (stack.Count > 0)
        {
            var k = stack.Pop();
            if (k is T t)
            {
                yield return t;
            }

            switch (k)
            {
                case SearchKey.Not n: stack.Push(n.Key); break;
                case SearchKey.Or o: stack.Push(o.Left); stack.Push(o.Right); break;
                case SearchKey.And a:
                    foreach (var c in a.Keys)
                    {
                        stack.Push(c);
                    }

                    break;
            }
        }
    }
}
