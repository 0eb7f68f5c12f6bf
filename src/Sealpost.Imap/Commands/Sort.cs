using System.Globalization;
using Sealpost.Core.Mail;
using Sealpost.Imap.Protocol;
using Sealpost.Mime;

namespace Sealpost.Imap;

// SORT and UID SORT (RFC 5256 §3) with DISPLAYFROM/DISPLAYTO (RFC 5957) and ESORT (RFC 5267: RETURN
// MIN/MAX/COUNT/ALL/PARTIAL). Sort values come from the sealed metadata through the in-memory cache;
// ties go to the lower message number (RFC 5256 §3). Strings compare case-insensitively.
public sealed partial class ImapSession
{

    private async Task<After> SortAsync(string tag, SortArguments arguments, bool uid, CancellationToken ct)
    {
        var (ret, partial, extended, criteria, charset, key) = arguments;
        RequireCharset(charset);

        var view = _selected!;
        await ReportChangesAsync(allowExpunge: uid, force: false, ct);
        var needsMetadata = criteria.Any(c => c.Field is not (SortField.Arrival or SortField.Size));
        var (matches, metadata, _) = await EvaluateAsync(key, ct, wantMetadata: needsMetadata);
        var sorted = SortMatches(matches, metadata, criteria);
        var numbers = uid ? sorted : sorted.Select(view.SequenceOf).ToList();
        if (extended)
        {
            if (ret != SearchReturn.Save || partial is not null)
            {
                Send(EsearchLine(tag, uid, numbers, ret, partial, null));
            }
        }
        else
        {
            Send(new SortResponse(numbers));
        }

        Ok(tag, "SORT completed");
        return After.Next;
    }

    private List<uint> SortMatches(List<MessageRecord> records, List<MetadataView?>? metadata, IReadOnlyList<(SortField Field, bool Reverse)> criteria)
    {
        var view = _selected!;
        // Each message's keys once, before sorting: the comparison runs n log n times, and a key may need a
        // read of the metadata or an RFC 2047 decoding.
        var rows = records.Select((r, i) => (Record: r, Keys: criteria.Select(c => SortKey(c.Field, r, metadata?[i])).ToArray(), Sequence: view.SequenceOf(r.Uid))).ToList();
        rows.Sort((a, b) =>
        {
            for (var k = 0; k < criteria.Count; k++)
            {
                var c = (a.Keys[k], b.Keys[k]) switch
                {
                    (string x, string y) => CompareText(x, y),
                    var (x, y) => ((IComparable)x).CompareTo(y),
                };
                if (c != 0)
                {
                    return criteria[k].Reverse ? -c : c;
                }
            }

            return a.Sequence.CompareTo(b.Sequence); // RFC 5256 §3: ties by message number
        });
        return rows.Select(r => r.Record.Uid).ToList();
    }

    private static object SortKey(SortField field, MessageRecord record, MetadataView? meta) => field switch
    {
        SortField.Arrival => record.InternalDate,
        SortField.Size => record.Size,
        SortField.Date => SentDate(record, meta),
        SortField.Subject => meta?.BaseSubject ?? "",
        SortField.From => AddressKey(meta?.Addresses("from")),
        SortField.To => AddressKey(meta?.Addresses("to")),
        SortField.Cc => AddressKey(meta?.Addresses("cc")),
        SortField.DisplayFrom => DisplayKey(meta?.Addresses("from")),
        _ => DisplayKey(meta?.Addresses("to")),
    };

    /// <summary>RFC 5256 §3 DATE: the Date header, or INTERNALDATE when it is missing or unparseable.</summary>
    private static DateTimeOffset SentDate(MessageRecord record, MetadataView? meta) =>
        meta?.SentDate is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : record.InternalDate;

    private static int CompareText(string a, string b) => string.Compare(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// RFC 5256 §3 FROM/TO/CC: the addr-mailbox of the first address as ENVELOPE lists it; for a group
    /// that is the group's name (its start entry), for an address without a domain its local part.
    /// </summary>
    private static string AddressKey(IReadOnlyList<EnvelopeAddress>? list) =>
        list?.FirstOrDefault(a => a.Mailbox is not null)?.Mailbox ?? "";

    /// <summary>RFC 5957: the decoded display name of the first address, or its addr-spec when there is none; a group's name for a group.</summary>
    private static string DisplayKey(IReadOnlyList<EnvelopeAddress>? list)
    {
        var first = list?.FirstOrDefault(a => a.Mailbox is not null);
        if (first is null)
        {
            return "";
        }

        if (first.Host is null)
        {
            return first.Mailbox!; // a group: its display name is the group's
        }

        if (!string.IsNullOrWhiteSpace(first.Name))
        {
            return MimeKit.Utils.Rfc2047.DecodeText(System.Text.Encoding.UTF8.GetBytes(first.Name)).Trim();
        }

        return first.Host == EnvelopeAddress.MissingDomain ? first.Mailbox! : $"{first.Mailbox}@{first.Host}";
    }
}
